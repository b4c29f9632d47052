"""Completion mode at the cursor: none, line or block, with the reason.

The mode also sizes the model canvas: about 16 tokens for a line and 48 for a
block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .cursor import CLOSERS, Cursor
from .indentation import indent_width

CANVAS_TOKENS = {"line": 16, "block": 48}
HEADER_END = "end of a block header"  # the reason for a cursor right after `def f():` or `{`
LiteralPolicy = Literal["complete", "line", "none"]
POLICIES = ("complete", "line", "none")
_STATEMENT_ENDS = (";", "}")
_BRACE_LANGUAGES = ("javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp")


@dataclass(frozen=True, slots=True, kw_only=True)
class ModeOptions:
    """Policies for a cursor inside a comment or a string.

    ``complete`` decides as in code, ``line`` completes the rest of the line
    only, ``none`` offers nothing.
    """

    comments: LiteralPolicy = "line"
    strings: LiteralPolicy = "line"

    def __post_init__(self) -> None:
        for name in ("comments", "strings"):
            value = getattr(self, name)
            if value not in POLICIES:
                raise ValueError(f"invalid {name} policy {value!r}: use one of {', '.join(POLICIES)}")


def _literal_mode(cursor: Cursor, options: ModeOptions) -> tuple[str, str] | None:
    if cursor.literal is None:
        return None
    policy = options.comments if cursor.literal == "comment" else options.strings
    if policy == "none":
        return "none", f"inside a {cursor.literal}"
    if policy == "line":
        return "line", f"inside a {cursor.literal}"
    return None


def requested_mode(cursor: Cursor, mode: str, options: ModeOptions = ModeOptions()) -> tuple[str, str]:
    """Return (mode, reason) for a mode the request names, "line" or "block".

    The request's mode wins over the decision from the code around the cursor,
    but a "none" policy for the comment or string at the cursor still offers nothing.
    """
    decided = _literal_mode(cursor, options)
    if decided is not None and decided[0] == "none":
        return decided
    return mode, "requested"


def _blank_line_mode(cursor: Cursor) -> tuple[str, str]:
    """Decide for a cursor with only whitespace left of it on its line."""
    if cursor.header_above:
        body_follows = cursor.next_line and indent_width(cursor.next_line) > indent_width(cursor.previous_line)
        if body_follows:
            return "block", "blank line at the start of a block"
        return "block", "empty body after a header"
    if cursor.previous_line and indent_width(cursor.previous_line) > 0:
        return "block", "blank line inside a block"
    return "block", "empty line"


def decide_mode(cursor: Cursor, language: str | None, options: ModeOptions = ModeOptions()) -> tuple[str, str]:
    """Return (mode, reason) for the cursor."""
    # Text typed in front of a word splits it, in comments and strings as much as in code.
    first_right = cursor.line_suffix[:1]
    if first_right.isalnum() or first_right == "_":
        last_left = cursor.line_prefix[-1:]
        if last_left.isalnum() or last_left == "_":
            return "none", "cursor inside an identifier" if cursor.literal is None else "cursor inside a word"
        return "none", "word characters right of the cursor"
    decided = _literal_mode(cursor, options)
    if decided is not None:
        return decided
    right = cursor.line_suffix.strip()
    if right and not all(ch in CLOSERS for ch in right):
        return "line", "text right of the cursor"
    if cursor.header_here and cursor.literal is None:
        return "block", HEADER_END
    code = cursor.line_prefix.rstrip()
    if code:
        if language in _BRACE_LANGUAGES and code.endswith(_STATEMENT_ENDS) and not right and cursor.literal is None:
            return "none", "statement complete at the end of the line"
        return "line", "code left of the cursor"
    return _blank_line_mode(cursor)
