"""Syntax validity of a candidate: errors it adds near the cursor.

The window text is parsed with and without the candidate; ERROR and MISSING
nodes that overlap the span around the cursor are counted in both.
"""

from __future__ import annotations

from functools import lru_cache

import tree_sitter

from .document import parser_for
from .languages import is_supported
from .window import ContextWindow

NEAR_BYTES = 200  # how far around the inserted text an error still counts as near the cursor


def count_errors(root: tree_sitter.Node, start: int, end: int) -> int:
    """Count ERROR and MISSING nodes overlapping bytes ``start..end``; an error's own subtree counts once."""
    count = 0
    pending = [root]
    while pending:
        node = pending.pop()
        if node.end_byte < start or node.start_byte > end:
            continue
        if node.is_error or node.is_missing:
            count += 1
            continue
        if node.has_error:
            pending.extend(node.children)
    return count


def _errors_near(language: str, text: str, start_byte: int, end_byte: int) -> int:
    tree = parser_for(language).parse(text.encode("utf-8", "surrogatepass"))
    return count_errors(tree.root_node, max(0, start_byte - NEAR_BYTES), end_byte + NEAR_BYTES)


@lru_cache(maxsize=16)
def _baseline(language: str, prefix: str, suffix: str) -> int:
    cursor = len(prefix.encode("utf-8", "surrogatepass"))
    return _errors_near(language, prefix + suffix, cursor, cursor)


def syntax_error_delta(window: ContextWindow, candidate: str, *, replace_chars: int = 0) -> int | None:
    """Return how many syntax errors the candidate adds near the cursor, or None without a grammar.

    A negative value means the candidate removes errors, for example by
    closing a bracket. ``replace_chars`` characters of the suffix are replaced.
    """
    if not is_supported(window.language):
        return None
    suffix = window.suffix[replace_chars:]
    cursor = len(window.prefix.encode("utf-8", "surrogatepass"))
    inserted = len(candidate.encode("utf-8", "surrogatepass"))
    with_candidate = _errors_near(window.language, window.prefix + candidate + suffix, cursor, cursor + inserted)
    return with_candidate - _baseline(window.language, window.prefix, suffix)
