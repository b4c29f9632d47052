"""The completion text as it moves through the filters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..cursor import CLOSERS
from ..window import ContextWindow


@dataclass(frozen=True, slots=True)
class Draft:
    """Completion text, plus how many characters right of the cursor it replaces."""

    text: str
    replace_chars: int = 0  # code points of the cursor line right of the cursor

    def with_text(self, text: str) -> Draft:
        return replace(self, text=text)


Filter = Callable[[Draft, ContextWindow], Draft]


def suffix_lines(window: ContextWindow) -> list[str]:
    """Return the non-blank suffix lines below the cursor line."""
    return [line for line in window.suffix.split("\n")[1:] if line.strip()]


def code_right_of_cursor(window: ContextWindow) -> bool:
    """Check that the cursor line has code right of the cursor, not just closing characters.

    A completion at the start of such a line goes on lines of its own above that code.
    """
    right = window.line_suffix.strip()
    return bool(right) and not all(ch in CLOSERS for ch in right)
