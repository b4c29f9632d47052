"""Indentation: a file's style (tabs, 2 or 4 spaces) and widths of leading whitespace."""

from __future__ import annotations

from collections import Counter

TAB_WIDTH = 4  # columns a tab counts for when tabs and spaces are compared
_SAMPLE_LINES = 400


def leading_whitespace(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def indent_width(whitespace: str) -> int:
    """Return the width of leading whitespace in columns, a tab counting ``TAB_WIDTH``."""
    return sum(TAB_WIDTH if ch == "\t" else 1 for ch in leading_whitespace(whitespace))


def detect_indent_unit(text: str, default: str = "    ") -> str:
    """Return one indentation level of ``text``: a tab, or a run of spaces.

    The unit is the most common positive change of indentation between
    neighbouring non-blank lines, over the first few hundred lines. Files
    without indented lines get ``default``.
    """
    tabs = spaces = 0
    steps: Counter[int] = Counter()
    previous: int | None = 0
    for line in text.splitlines()[:_SAMPLE_LINES]:
        if not line.strip():
            continue
        whitespace = leading_whitespace(line)
        if whitespace.startswith("\t"):
            tabs += 1
            previous = None  # a space step measured from a tab-indented line means nothing
            continue
        spaces += bool(whitespace)
        if previous is not None and len(whitespace) > previous:
            steps[len(whitespace) - previous] += 1
        previous = len(whitespace)
    if tabs > spaces:
        return "\t"
    if not steps:
        return default
    step = max(steps.items(), key=lambda item: (item[1], -item[0]))[0]
    return " " * step if step in (2, 3, 4, 8) else default


def reindent(whitespace: str, source_unit: str, target_unit: str) -> str:
    """Return ``whitespace`` rewritten from ``source_unit`` levels into ``target_unit`` levels.

    Columns that do not fill a whole level are kept as spaces.
    """
    if source_unit == target_unit:
        return whitespace
    width = indent_width(whitespace)
    source_width = indent_width(source_unit)
    levels, remainder = divmod(width, source_width)
    return target_unit * levels + " " * remainder


def detect_unit_of_lines(lines: list[str]) -> str | None:
    """Return the indentation unit a completion uses, or None when it does not show one."""
    widths = sorted({indent_width(line) for line in lines if line.strip()})
    if any(leading_whitespace(line).startswith("\t") for line in lines if line.strip()):
        return "\t"
    steps = [b - a for a, b in zip(widths, widths[1:]) if b > a]
    if not steps:
        return None
    return " " * min(steps)
