"""Syntax validity of a candidate: errors added near the cursor."""

from __future__ import annotations

from .window import ContextWindow


def syntax_error_delta(window: ContextWindow, candidate: str) -> int | None:
    """Return how many syntax errors the candidate adds, or None when unknown."""
    return None
