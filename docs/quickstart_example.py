"""A file in the middle of an edit, for the quick start: line 19 is still being typed."""

import json
from pathlib import Path


def load_settings(path: Path) -> dict:
    """Read a JSON settings file, or return an empty dict when it does not exist."""
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def count_words(text: str) -> dict[str, int]:
    """Count how often each word occurs in ``text``."""
    counts: dict[str, int] = {}
    for word in text.split():
        counts[word] = 
    return counts
