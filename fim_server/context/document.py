"""A text document kept in step with its tree-sitter tree under incremental edits.

Every edit updates the text, the UTF-8 source, the line index and the old tree
(``Tree.edit``) at once. The reparse is deferred until the tree is read, so a
burst of keystrokes costs one incremental parse.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import tree_sitter

from .languages import is_supported, new_parser
from .positions import Encoding, LineIndex, advance_point, split_line_lengths, ts_point
from .region import BACK_CHARS, FORWARD_CHARS, Region, SyntaxView

_COMPARE_CHUNK = 4096
_parsers = threading.local()  # tree-sitter parsers are not thread-safe, so each thread gets its own


def parser_for(language: str) -> tree_sitter.Parser:
    """Return this thread's parser for ``language``."""
    pool = getattr(_parsers, "pool", None)
    if pool is None:
        pool = _parsers.pool = {}
    parser = pool.get(language)
    if parser is None:
        parser = pool[language] = new_parser(language)
    return parser


def common_prefix_length(a: str, b: str) -> int:
    """Return the length of the longest common prefix, comparing in chunks first."""
    limit = min(len(a), len(b))
    start = 0
    while start < limit and a[start : start + _COMPARE_CHUNK] == b[start : start + _COMPARE_CHUNK]:
        start += _COMPARE_CHUNK
    end = min(start + _COMPARE_CHUNK, limit)
    while start < end and a[start] == b[start]:
        start += 1
    return min(start, limit)


def common_suffix_length(a: str, b: str, limit: int) -> int:
    """Return the length of the longest common suffix, at most ``limit``."""
    length = 0
    while length < limit:
        size = min(_COMPARE_CHUNK, limit - length)
        if a[len(a) - length - size : len(a) - length] != b[len(b) - length - size : len(b) - length]:
            break
        length += size
    while length < limit and a[len(a) - length - 1] == b[len(b) - length - 1]:
        length += 1
    return length


class Document:
    """Text, UTF-8 source, line index and (for supported languages) a syntax tree."""

    def __init__(self, text: str, language: str | None = None, *, version: int | None = None) -> None:
        self.language = language if is_supported(language) else None
        self.version = version
        self._reset(text)

    def _reset(self, text: str) -> None:
        self.text = text
        self.source = text.encode("utf-8", "surrogatepass")
        self.index = LineIndex(text)
        self._tree: tree_sitter.Tree | None = None
        self._stale = self.language is not None
        self._region: Region | None = None
        self.window_anchor: object | None = None  # the last prefix cut, owned by the window module

    # -- the tree -------------------------------------------------------------------

    @property
    def tree(self) -> tree_sitter.Tree | None:
        """Return the syntax tree of the current text (None for the line-based fallback)."""
        if self._stale:
            parser = parser_for(self.language)
            self._tree = parser.parse(self.source, self._tree) if self._tree is not None else parser.parse(self.source)
            self._stale = False
        return self._tree

    def syntax_near(self, offset: int, back: int = BACK_CHARS, forward: int = FORWARD_CHARS) -> SyntaxView | None:
        """Return the parsed region around ``offset`` (None for the line-based fallback).

        The region holds at least ``back // 2`` characters before ``offset``
        and ``forward // 2`` after it. It is reused, and reparsed
        incrementally, while edits stay inside it and the cursor stays away
        from its edges.
        """
        if self.language is None:
            return None
        region = self._region
        if region is None or not region.covers(offset, len(self.text), back, forward):
            region = self._region = Region.around(self.text, offset, back, forward)
        base_byte = self.offset_to_byte(region.start)
        if region.stale:
            region_source = self.source[base_byte : self.offset_to_byte(region.end)]
            parser = parser_for(self.language)
            region.tree = parser.parse(region_source, region.tree) if region.tree is not None else parser.parse(
                region_source
            )
            region.stale = False
        return SyntaxView(self, region.tree.root_node, base_byte, region.start, region.end)

    # -- edits ------------------------------------------------------------------------

    def replace(self, start: int, end: int, new_text: str) -> None:
        """Replace code points ``start:end`` with ``new_text``."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"invalid edit range {start}:{end}: the document has {len(self.text)} code points")
        start_byte = self.index.offset_to_byte(self.text, start)
        end_byte = self.index.offset_to_byte(self.text, end)
        region_byte = self.index.offset_to_byte(self.text, self._region.start) if self._region is not None else 0
        self._update_lines(start, end, new_text)
        inserted = new_text.encode("utf-8", "surrogatepass")
        old_source = self.source
        self.source = old_source[:start_byte] + inserted + old_source[end_byte:]
        if self._region is not None and not self._region.apply_edit(
            old_source, start, end, new_text, start_byte, end_byte, inserted, region_byte
        ):
            self._region = None
        if self._tree is not None:
            start_point = ts_point(old_source, start_byte)
            self._tree.edit(
                start_byte=start_byte,
                old_end_byte=end_byte,
                new_end_byte=start_byte + len(inserted),
                start_point=start_point,
                old_end_point=advance_point(start_point, old_source[start_byte:end_byte]),
                new_end_point=advance_point(start_point, inserted),
            )
        self._stale = self.language is not None

    def _update_lines(self, start: int, end: int, new_text: str) -> None:
        """Re-measure the lines an edit touches, one line either side included.

        The neighbours are re-measured because an edit next to a ``\\r`` or
        ``\\n`` can join or split a ``\\r\\n`` terminator on a line it did not touch.
        """
        index = self.index
        first = max(index.line_of(start) - 1, 0)
        last = min(index.line_of(end) + 1, index.line_count - 1)
        region_start = index.line_start(first)
        region_end = index.line_start(last + 1)
        self.text = self.text[:start] + new_text + self.text[end:]
        region_end += len(new_text) - (end - start)
        chars, sizes = split_line_lengths(self.text[region_start:region_end], final=last == index.line_count - 1)
        index.replace_lines(first, last, chars, sizes)

    def apply_change(
        self, new_text: str, range_: tuple[tuple[int, int], tuple[int, int]] | None = None, *,
        encoding: Encoding = "utf-16",
    ) -> None:
        """Apply one LSP content change: a range edit, or the whole text when ``range_`` is None."""
        if range_ is None:
            self.set_text(new_text)
            return
        (start_line, start_character), (end_line, end_character) = range_
        start = self.position_to_offset(start_line, start_character, encoding)
        end = self.position_to_offset(end_line, end_character, encoding)
        if end < start:
            raise ValueError(
                f"invalid change range {start_line}:{start_character}-{end_line}:{end_character}: end before start"
            )
        self.replace(start, end, new_text)

    def set_text(self, text: str) -> None:
        """Replace the whole text, as one minimal edit so the reparse stays incremental."""
        if text is self.text:
            return
        prefix = common_prefix_length(self.text, text)
        suffix = common_suffix_length(self.text, text, min(len(self.text), len(text)) - prefix)
        if prefix == len(self.text) == len(text):
            return
        self.replace(prefix, len(self.text) - suffix, text[prefix : len(text) - suffix])

    # -- positions ----------------------------------------------------------------------

    def position_to_offset(self, line: int, character: int, encoding: Encoding = "utf-16") -> int:
        return self.index.position_to_offset(self.text, line, character, encoding)

    def offset_to_position(self, offset: int, encoding: Encoding = "utf-16") -> tuple[int, int]:
        return self.index.offset_to_position(self.text, offset, encoding)

    def offset_to_byte(self, offset: int) -> int:
        return self.index.offset_to_byte(self.text, offset)

    def byte_to_offset(self, byte: int) -> int:
        return self.index.byte_to_offset(self.text, byte)

    def line_text(self, line: int) -> str:
        """Return the text of ``line`` without its terminator."""
        start, end = self.index.line_span(self.text, line)
        return self.text[start:end]


class DocumentCache:
    """A few recent documents keyed by name, reparsed incrementally when their text changes.

    Callers that only hold plain text (the completion pipeline) still get
    incremental parsing between keystrokes. The number of entries and the
    characters they hold are bounded, so memory does not grow with the number
    of files seen. The most recent document always stays, whatever its size.
    """

    def __init__(self, max_entries: int = 8, max_chars: int = 8_000_000) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._entries: OrderedDict[tuple[str, str | None], Document] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def use(self, text: str, language: str | None, key: str | None = None) -> Iterator[Document]:
        """Yield a document holding ``text``, edited from the cached one when there is one.

        The cache stays locked while the caller reads the document.
        """
        with self._lock:
            name = (language or "", key)
            document = self._entries.pop(name, None)
            if document is None:
                document = Document(text, language)
            else:
                document.set_text(text)
            self._entries[name] = document
            while len(self._entries) > 1 and (
                len(self._entries) > self.max_entries
                or sum(len(entry.text) for entry in self._entries.values()) > self.max_chars
            ):
                self._entries.popitem(last=False)
            yield document
