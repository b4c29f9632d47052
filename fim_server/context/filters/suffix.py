"""Filters against text the suffix already has: re-typed lines, closing lines, auto-closed brackets."""

from __future__ import annotations

from ..brackets import CLOSING, closed_outside, closer_of, open_items, unmatched_closers
from ..languages import quote_characters
from ..window import ContextWindow
from .draft import Draft, suffix_lines

MIN_OVERLAP_CHARS = 8  # a single re-typed line must be at least this long to count as a copy
_CLOSERS = set(")]}>;,")


def _normalized(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip()]


def suffix_overlap(draft: Draft, window: ContextWindow) -> Draft:
    """Cut the completion where it starts re-typing the lines below the cursor.

    The cut is at the first completion line from which every non-blank line
    matches the next suffix lines, when that match is long enough to be a copy.
    A long line equal to the first suffix line is also a cut.
    """
    lines = draft.text.split("\n")
    following = _normalized(suffix_lines(window))
    if not following:
        return draft
    first = 0 if not window.line_prefix.strip() and not window.line_suffix.strip() else 1
    for number in range(first, len(lines)):
        if not lines[number].strip():
            continue
        tail = _normalized(lines[number:])
        matches = tail == following[: len(tail)]
        long_enough = sum(len(line) for line in tail) >= MIN_OVERLAP_CHARS or len(tail) >= 2
        copied_line = tail[0] == following[0] and len(tail[0]) >= MIN_OVERLAP_CHARS
        if (matches and long_enough) or copied_line:
            return draft.with_text("\n".join(lines[:number]).rstrip(" \t"))
    return draft


def closing_duplicate(draft: Draft, window: ContextWindow) -> Draft:
    """Drop a last closing line (``}``, ``)``, ``});``) that the line below the cursor repeats."""
    lines = draft.text.rstrip().split("\n")
    following = suffix_lines(window)
    if len(lines) < 2 or not following or window.line_suffix.strip():
        return draft
    closer = lines[-1].strip()
    if not closer or not set(closer) <= _CLOSERS or following[0].strip() != closer:
        return draft
    if not unmatched_closers("\n".join(lines)):
        return draft  # the completion opened what this line closes
    return draft.with_text("\n".join(lines[:-1]))


def auto_closed(draft: Draft, window: ContextWindow) -> Draft:
    """Replace auto-closed brackets and quotes right of the cursor that the completion closes itself.

    ``print(|)`` with the completion ``"hi")`` replaces the ``)`` instead of
    showing ``print("hi"))``.
    """
    if window.literal == "comment" or not window.line_suffix[:1] in _CLOSERS | {'"', "'", "`"}:
        return draft
    quotes = quote_characters(window.language)
    opened = open_items(window.line_prefix, quotes)
    closed = closed_outside(opened, draft.text, quotes)
    expected = "".join(closer_of(item) for item in closed)
    if not expected or not window.line_suffix.startswith(expected):
        return draft
    return Draft(draft.text, replace_chars=len(expected))


def line_suffix_overlap(draft: Draft, window: ContextWindow) -> Draft:
    """Trim the end of the completion that re-types the rest of the cursor line."""
    rest = window.line_suffix[draft.replace_chars :].strip()
    text = draft.text.rstrip()
    if not rest or not text.endswith(rest):
        return draft
    closers = "".join(ch for ch in rest if ch in CLOSING)
    if closers and not unmatched_closers(text).endswith(closers):
        return draft  # the completion's own brackets close there, as in `bar(a)` before `)`
    return draft.with_text(text[: -len(rest)])
