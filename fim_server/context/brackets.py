"""A small bracket and quote scanner, enough to tell which brackets a completion closes.

It ignores comments and any string rule beyond quotes and backslash escapes,
so callers use it on short spans of code only.
"""

from __future__ import annotations

PAIRS = {"(": ")", "[": "]", "{": "}"}
CLOSING = {close: open_ for open_, close in PAIRS.items()}
QUOTES = "\"'`"


def _advance(stack: list[str], text: str, index: int, quotes: str) -> tuple[int, str | None]:
    """Apply ``text[index]`` to ``stack``, returning the next index and any closer that matched nothing."""
    ch = text[index]
    top = stack[-1] if stack else None
    if top is not None and top in quotes:
        if ch == "\\":
            return index + 2, None
        if ch == top:
            stack.pop()
    elif ch in quotes or ch in PAIRS:
        stack.append(ch)
    elif ch in CLOSING:
        if top != CLOSING[ch]:
            return index + 1, ch
        stack.pop()
    return index + 1, None


def open_items(text: str, quotes: str = QUOTES) -> list[str]:
    """Return the brackets and the quote still open at the end of ``text``, innermost last."""
    stack: list[str] = []
    index = 0
    while index < len(text):
        index, _ = _advance(stack, text, index, quotes)
    return stack


def closed_outside(opened: list[str], text: str, quotes: str = QUOTES) -> list[str]:
    """Return the items of ``opened`` that ``text`` closes, innermost first.

    ``opened`` is the state before ``text``, as ``open_items`` returns it.
    """
    stack = list(opened)
    floor = len(stack)  # items below this index still come from ``opened``
    closed: list[str] = []
    index = 0
    while index < len(text):
        index, _ = _advance(stack, text, index, quotes)
        if len(stack) < floor:
            closed.extend(reversed(opened[len(stack) : floor]))
            floor = len(stack)
    return closed


def unmatched_closers(text: str, quotes: str = QUOTES) -> str:
    """Return the closing brackets in ``text`` that close nothing opened inside ``text``."""
    stack: list[str] = []
    unmatched = []
    index = 0
    while index < len(text):
        index, stray = _advance(stack, text, index, quotes)
        if stray is not None:
            unmatched.append(stray)
    return "".join(unmatched)


def closer_of(item: str) -> str:
    return PAIRS.get(item, item)
