"""Open documents, kept in step with incremental ``didChange`` edits.

Text, line index and tree-sitter tree live in ``fim_server.context.document``.
This module adds what the protocol needs on top: the URI and language id, the
negotiated position encoding, strict cursor checks and the reasons a document
gets no suggestions (too large, binary).

LSP columns count code units of the negotiated encoding: UTF-16 unless the
client offered UTF-8 or UTF-32. Every conversion goes through the line index
and never treats a column as a Python string index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

from lsprotocol import types

from ..context import detect_language
from ..context.document import Document
from ..context.positions import Encoding, code_units

log = logging.getLogger("fim_server.lsp.documents")

BINARY_SCAN_CHARS = 65_536


class DocumentNotOpen(LookupError):
    """A request named a document that the client never opened (or already closed)."""


class InvalidPosition(ValueError):
    """A position lies outside the document; the message gives the document's extent."""


@dataclass(eq=False)
class OpenDocument:
    uri: str
    language_id: str
    document: Document
    path: str | None
    notices: set[str] = field(default_factory=set)  # user-facing notices already sent for this document

    @property
    def text(self) -> str:
        return self.document.text

    @property
    def version(self) -> int | None:
        return self.document.version

    @property
    def language(self) -> str | None:
        return self.document.language

    def cursor_offset(self, position: types.Position, encoding: Encoding) -> int:
        """Return the code-point offset of an LSP position; raise InvalidPosition when it is outside."""
        line, character = position.line, position.character
        index = self.document.index
        if line < 0 or character < 0:
            raise InvalidPosition(f"invalid position {line}:{character}: line and character must be zero or more")
        if line >= index.line_count:
            raise InvalidPosition(
                f"invalid position {line}:{character}: the document has {index.line_count} lines (zero-based)"
            )
        width = code_units(self.document.line_text(line), encoding)
        if character > width:
            raise InvalidPosition(
                f"invalid position {line}:{character}: line {line} is {width} {encoding} code units long"
            )
        return self.document.position_to_offset(line, character, encoding)

    def cursor_offset_or_none(self, position: types.Position, encoding: Encoding) -> int | None:
        try:
            return self.cursor_offset(position, encoding)
        except InvalidPosition:
            return None

    def with_replacement(self, start: int, end: int, new_text: str) -> OpenDocument:
        """Return a detached copy of this document with code points ``start:end`` replaced."""
        text = self.document.text
        copy = Document(text[:start] + new_text + text[end:], self.document.language, version=self.version)
        return OpenDocument(uri=self.uri, language_id=self.language_id, document=copy, path=self.path,
                            notices=self.notices)

    def client_position(self, offset: int, encoding: Encoding) -> types.Position:
        line, character = self.document.offset_to_position(offset, encoding)
        return types.Position(line=line, character=character)

    def unusable_reason(self, max_chars: int) -> str | None:
        """Return why this document gets no suggestions, or None when it can get them."""
        text = self.document.text
        if len(text) > max_chars:
            return f"the document has {len(text):,} characters, above maxDocumentChars={max_chars:,}"
        if "\x00" in text[:BINARY_SCAN_CHARS]:
            return "the document looks binary (it contains NUL characters)"
        return None


def path_of(uri: str) -> str | None:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") and parsed.path else None


class DocumentStore:
    """The documents the client has opened, by URI."""

    def __init__(self) -> None:
        self._documents: dict[str, OpenDocument] = {}

    def __len__(self) -> int:
        return len(self._documents)

    def open(self, item: types.TextDocumentItem) -> OpenDocument:
        path = path_of(item.uri)
        language = detect_language(item.language_id, path)
        document = Document(item.text, language, version=item.version)
        opened = OpenDocument(uri=item.uri, language_id=item.language_id, document=document, path=path)
        self._documents[item.uri] = opened
        return opened

    def get(self, uri: str) -> OpenDocument:
        found = self._documents.get(uri)
        if found is None:
            raise DocumentNotOpen(f"document not open: {uri}; send textDocument/didOpen before requesting completions")
        return found

    def find(self, uri: str) -> OpenDocument | None:
        return self._documents.get(uri)

    def close(self, uri: str) -> OpenDocument | None:
        return self._documents.pop(uri, None)

    def apply(self, uri: str, version: int | None, change: types.TextDocumentContentChangeEvent,
              encoding: Encoding) -> None:
        """Apply one content change (a range edit or the whole text) to an open document."""
        opened = self.get(uri)
        if isinstance(change, types.TextDocumentContentChangePartial):
            start, end = change.range.start, change.range.end
            opened.document.apply_change(
                change.text, ((start.line, start.character), (end.line, end.character)), encoding=encoding
            )
        else:
            opened.document.apply_change(change.text, None, encoding=encoding)
        opened.document.version = version


__all__ = ["DocumentNotOpen", "DocumentStore", "InvalidPosition", "OpenDocument"]
