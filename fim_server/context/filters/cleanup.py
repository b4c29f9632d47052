"""Filters that clean the raw text: special tokens, spacing, repetition, length."""

from __future__ import annotations

import re

from ..indentation import leading_whitespace
from ..window import ContextWindow
from .draft import Draft, code_right_of_cursor

# Text after an end token is not part of the middle, so it is cut; other markers are removed.
END_TOKENS = ("<|eom|>", "<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|file_separator|>", "<EOT>", "<|end|>")
OTHER_TOKENS = (
    "<|mask|>", "<|pad|>",
    "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>",
    "<fim-prefix>", "<fim-suffix>", "<fim-middle>", "<PRE>", "<SUF>", "<MID>",
)
_INLINE_LOOP = re.compile(r"(.{3,40}?)\1{3,}")  # a unit of 3-40 characters written four or more times
_WORDLIKE = re.compile(r"[A-Za-z_]{2}")
MIN_USEFUL_CHARS = 2


def special_tokens(draft: Draft, window: ContextWindow) -> Draft:
    """Cut at an end-of-middle token and remove other special tokens.

    A token that also appears in the window is ordinary text of this file and stays.
    """
    context = window.prefix + window.suffix
    text = draft.text
    for token in END_TOKENS:
        if token in text and token not in context:
            text = text[: text.index(token)]
    for token in OTHER_TOKENS:
        if token in text and token not in context:
            text = text.replace(token, "")
    return draft.with_text(text)


def single_line(draft: Draft, window: ContextWindow) -> Draft:
    """Keep only the first line in line mode."""
    if window.mode != "line":
        return draft
    return draft.with_text(draft.text.split("\n", 1)[0])


def leading_space(draft: Draft, window: ContextWindow) -> Draft:
    """Drop spaces at the start when the code left of the cursor already ends with one (``x = `` + `` 1``)."""
    if not window.line_prefix.strip() or window.line_prefix[-1:] not in (" ", "\t"):
        return draft
    return draft.with_text(draft.text.lstrip(" \t"))


def _repeated_line_cut(lines: list[str]) -> int | None:
    """Return how many lines to keep when a line or a block of up to 6 lines loops."""
    for start in range(len(lines)):
        line = lines[start]
        if line.strip() and lines[start + 1 : start + 3] == [line, line]:
            return start + 1
        for period in range(2, 7):
            block = lines[start : start + period]
            if len(block) < period or sum(len(item.strip()) for item in block) < 10:
                continue
            if lines[start + period : start + 2 * period] == block:
                return start + period
    return None


def repetition(draft: Draft, window: ContextWindow) -> Draft:
    """Cut a completion where it starts looping: lines, blocks of lines, or a unit inside a line."""
    lines = draft.text.split("\n")
    # On a blank cursor line the first line's indentation is left of the cursor, so add it back to compare.
    indent = window.line_prefix if not window.line_prefix.strip() else ""
    keep = _repeated_line_cut([indent + lines[0], *lines[1:]])
    if keep is not None:
        lines = lines[:keep]
    for number, line in enumerate(lines):
        for match in _INLINE_LOOP.finditer(line):
            if _WORDLIKE.search(match.group(1)):
                lines = lines[:number] + [line[: match.start() + len(match.group(1))]]
                return draft.with_text("\n".join(lines))
    return draft.with_text("\n".join(lines))


def max_lines(draft: Draft, window: ContextWindow, limit: int = 20) -> Draft:
    return draft.with_text("\n".join(draft.text.split("\n")[:limit]))


def trailing_whitespace(draft: Draft, window: ContextWindow) -> Draft:
    """Strip whitespace at line ends and blank lines at the end."""
    lines = [line.rstrip() for line in draft.text.split("\n")]
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return draft.with_text("\n".join(lines))


def line_break_before_code(draft: Draft, window: ContextWindow) -> Draft:
    """End the text with a line break when the cursor sits at the start of a line that contains code.

    The completion goes on lines of its own above that code, so the code keeps
    its line and, after the break, the indentation left of the cursor. With the
    cursor inside that indentation, the first line also gets the part right of
    the cursor: first_line_indent has already taken the model's own
    indentation off that line.
    """
    if window.line_prefix.strip() or not code_right_of_cursor(window):
        return draft
    text = draft.text.rstrip("\n")
    if not text.strip():
        return draft
    if window.line_prefix and text[:1] not in (" ", "\t", "\n"):
        text = leading_whitespace(window.line_suffix) + text
    return draft.with_text(text + "\n" + window.line_prefix)


def is_useful(text: str, min_chars: int = MIN_USEFUL_CHARS) -> bool:
    """Check that a completion is worth showing: it has a word character or ``min_chars`` visible ones."""
    visible = "".join(text.split())
    return bool(re.search(r"\w", visible)) or len(visible) >= min_chars
