"""Whether the cursor is inside a comment or a string, from the document's syntax tree."""

from __future__ import annotations

from ..context.document import Document
from ..context.languages import syntax


def cursor_scope(document: Document, offset: int) -> str:
    """Return "comment", "string" or "code" for the cursor at code-point ``offset``.

    A cursor right after a line comment is still in it, because typing extends
    the comment. A cursor right after a closing quote or ``*/`` is outside. A
    document without a grammar is "code".
    """
    tree = document.tree
    if tree is None or document.language is None:
        return "code"
    vocabulary = syntax(document.language)
    byte = document.offset_to_byte(offset)
    node = tree.root_node.descendant_for_byte_range(max(byte - 1, 0), byte)
    while node is not None:
        if node.type in vocabulary.comments and node.start_byte < byte <= node.end_byte:
            closed = document.source[node.end_byte - 2 : node.end_byte] == b"*/"
            if byte < node.end_byte or not closed:
                return "comment"
        if node.type in vocabulary.strings and node.start_byte < byte < node.end_byte:
            return "string"
        node = node.parent
    return "code"


__all__ = ["cursor_scope"]
