"""Front ends that serve the completion pipeline: stdio (JSON lines)."""
