"""Window edges and the headers of the definitions around the cursor.

Cuts fall on line boundaries. With a tree they move, by at most a few lines,
to where a statement or member starts, so the model does not see half of a
multi-line expression or string at the window edge.
"""

from __future__ import annotations

from collections.abc import Callable

import tree_sitter

from .document import Document
from .languages import syntax
from .region import SyntaxView

SNAP_LINES = 8  # how many lines a cut may move to reach a syntax boundary
MAX_HEADER_LINES = 6


def _statement_starts_at(document: Document, view: SyntaxView | None, line: int) -> bool:
    """Check that ``line`` starts a statement or member, which makes a clean place to cut."""
    text = document.line_text(line)
    if not text.strip():
        return False
    start = document.index.line_start(line) + len(text) - len(text.lstrip())
    if view is None or not view.start <= start < view.end:
        return view is None
    byte = view.byte_at(start)
    node = view.root.descendant_for_byte_range(byte, byte)
    while node.parent is not None and node.parent.start_byte == byte:
        node = node.parent
    return node.start_byte == byte and node.parent is not None and node.parent.type in syntax(
        document.language
    ).containers


def prefix_cut(
    document: Document, view: SyntaxView | None, offset: int, budget: int, measure: Callable[[str], int]
) -> int:
    """Return the offset where the prefix starts: a line start, within ``budget`` of the cursor."""
    index, text = document.index, document.text
    cursor_line = index.line_of(offset)
    line_start = index.line_start(cursor_line)
    used = measure(text[line_start:offset])
    if used > budget:
        return max(line_start, offset - budget)  # a very long cursor line: cut inside it
    first = cursor_line
    while first > 0:
        cost = measure(text[index.line_start(first - 1) : index.line_start(first)])
        if used + cost > budget:
            break
        used += cost
        first -= 1
    if first == 0:
        return 0
    for line in range(first, min(first + SNAP_LINES, cursor_line)):
        if _statement_starts_at(document, view, line):
            return index.line_start(line)
    return index.line_start(first)


def suffix_cut(
    document: Document, view: SyntaxView | None, offset: int, budget: int, measure: Callable[[str], int]
) -> int:
    """Return the offset where the suffix ends: a line end, within ``budget`` of the cursor."""
    index, text = document.index, document.text
    cursor_line = index.line_of(offset)
    line_end = index.line_start(cursor_line + 1)
    used = measure(text[offset:line_end])
    if used > budget:
        return min(line_end, offset + budget)
    last = cursor_line
    while last + 1 < index.line_count:
        cost = measure(text[index.line_start(last + 1) : index.line_start(last + 2)])
        if used + cost > budget:
            break
        used += cost
        last += 1
    if last + 1 >= index.line_count:
        return len(text)
    for line in range(last, max(last - SNAP_LINES, cursor_line), -1):
        if _statement_starts_at(document, view, line + 1):
            return index.line_start(line + 1)
    return index.line_start(last + 1)


def _header_end(body: tree_sitter.Node) -> int:
    """Return the byte where a definition's header ends: after ``{`` or before its indented body."""
    if body.text[:1] == b"{":
        return body.start_byte + 1
    if body.prev_sibling is not None:
        return body.prev_sibling.end_byte
    return body.start_byte


def _anchor_byte(view: SyntaxView, offset: int) -> int:
    """Return the tree byte of the last non-blank character before the cursor (or of the cursor)."""
    byte = view.byte_at(offset)
    before = view.document.source[view.base_byte + max(0, byte - 4096) : view.base_byte + byte]
    stripped = before.rstrip()
    return byte - len(before) + len(stripped) - 1 if stripped else byte


def enclosing_headers(
    view: SyntaxView | None, offset: int, start: int, limit: int, measure: Callable[[str], int] = len
) -> str:
    """Return the header lines of definitions that enclose the cursor but start before ``start``.

    Headers come outermost first, each with its indentation and a newline, and
    together measure at most ``limit`` (outer ones are dropped first).
    """
    if view is None or start <= view.start:
        return ""
    document = view.document
    rules = syntax(document.language)
    index = document.index
    start_byte = view.byte_at(start)
    anchor = _anchor_byte(view, offset)
    node = view.root.descendant_for_byte_range(anchor, anchor)
    headers: list[str] = []
    while node is not None:
        body = node.child_by_field_name("body") if node.type in rules.definitions else None
        if body is not None and body.type in rules.containers and node.start_byte < start_byte <= body.end_byte:
            first = index.line_of(view.offset_at(node.start_byte))
            last = index.line_of(view.offset_at(_header_end(body)))
            if index.line_start(last + 1) <= start and last - first < MAX_HEADER_LINES:
                headers.append(document.text[index.line_start(first) : index.line_span(document.text, last)[1]] + "\n")
        node = node.parent
    while headers and sum(map(measure, headers)) > limit:
        headers.pop()  # the outermost header is last in the list
    return "".join(reversed(headers))
