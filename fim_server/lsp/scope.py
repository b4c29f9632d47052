"""Whether the cursor is inside a comment or a string, from the syntax tree around it."""

from __future__ import annotations

from ..context.cursor import build_cursor
from ..context.document import Document


def cursor_scope(document: Document, offset: int) -> str:
    """Return "comment", "string" or "code" for the cursor at code-point ``offset``.

    It returns what the pipeline's mode decision sees. It reads the parsed
    region around the cursor that the context window reads next, so checking
    the scope costs no parse of its own. A cursor right after a line
    comment is still in it, because typing extends the comment. A cursor
    right after a closing quote or ``*/`` is outside. A document without a
    grammar is lexed line by line.
    """
    cursor = build_cursor(document, offset, document.syntax_near(offset))
    return cursor.literal or "code"


__all__ = ["cursor_scope"]
