"""A syntax tree of the code around the cursor, kept incrementally like the full tree.

Reparsing a whole file after a keystroke can cost as much as a full parse
when the edit leaves a syntax error (an unclosed bracket makes tree-sitter
recover over the rest of the file). The context window only needs the code
near the cursor, so it parses a region of a few thousand characters that
starts and ends at column-0 lines, and reparses that region incrementally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import tree_sitter

from .positions import advance_point, ts_point

if TYPE_CHECKING:
    from .document import Document

BACK_CHARS = 3000  # the region reaches at least this far before the cursor
FORWARD_CHARS = 1500  # and at least this far after it
MAX_BACK_CHARS = 32_000  # how far back to look for a column-0 line to start at
MAX_FORWARD_CHARS = 8_000
_TOP_LEVEL_LINE = re.compile(r"^[A-Za-z_@#$]", re.MULTILINE)  # a line that starts at column 0 with code


@dataclass(slots=True)
class Region:
    """Code points ``start:end`` of a document and the tree of exactly that text."""

    start: int
    end: int
    tree: tree_sitter.Tree | None = None
    stale: bool = True

    @classmethod
    def around(cls, text: str, offset: int, back: int = BACK_CHARS, forward: int = FORWARD_CHARS) -> Region:
        """Return a region around ``offset`` that begins and ends at column-0 lines where possible.

        It reaches at least ``back`` characters before ``offset`` and ``forward`` after it.
        """
        max_back, max_forward = max(MAX_BACK_CHARS, 2 * back), max(MAX_FORWARD_CHARS, 2 * forward)
        low = max(0, offset - max_back)
        high = max(low, offset - back)
        start = low if low == 0 else text.rfind("\n", 0, low) + 1
        for match in _TOP_LEVEL_LINE.finditer(text, start, high + 1):
            start = match.start()
        if offset - start > max_back:
            start = text.rfind("\n", 0, high) + 1
        end = len(text)
        found = _TOP_LEVEL_LINE.search(text, min(len(text), offset + forward), offset + max_forward)
        if found is not None:
            end = found.start()
        elif offset + max_forward < len(text):
            end = text.find("\n", offset + max_forward) + 1 or len(text)
        # A line longer than the budget (a minified bundle) is cut inside it. Parsing a whole 1 MB line
        # of minified JavaScript took about a second on a 2-core CPU.
        return cls(max(start, offset - 2 * max_back), min(end, offset + 2 * max_forward))

    def covers(self, offset: int, text_length: int, back: int = BACK_CHARS, forward: int = FORWARD_CHARS) -> bool:
        """Check that ``offset`` is far enough from both edges for a window cut inside the region."""
        back_ok = self.start == 0 or offset - self.start >= back // 2
        forward_ok = self.end == text_length or self.end - offset >= forward // 2
        return self.start <= offset <= self.end and back_ok and forward_ok

    def apply_edit(
        self, old_source: bytes, start: int, end: int, inserted_text: str, start_byte: int, end_byte: int,
        inserted: bytes, base_byte: int,
    ) -> bool:
        """Follow an edit of code points ``start:end``; ``base_byte`` is the region start in ``old_source``.

        An edit before the region shifts it, an edit inside it edits its tree,
        and an edit after it changes nothing. Returns False when the edit
        crosses an edge and the region must be rebuilt.
        """
        delta = len(inserted_text) - (end - start)
        if end < self.start or (end == self.start and start < end):
            self.start += delta
            self.end += delta
            return True
        if start > self.end or (start == self.end and start < end):
            return True
        if not (self.start <= start and end <= self.end):
            return False
        self.end += delta
        if self.tree is not None:
            point = ts_point(old_source, start_byte, base_byte)
            self.tree.edit(
                start_byte=start_byte - base_byte,
                old_end_byte=end_byte - base_byte,
                new_end_byte=start_byte - base_byte + len(inserted),
                start_point=point,
                old_end_point=advance_point(point, old_source[start_byte:end_byte]),
                new_end_point=advance_point(point, inserted),
            )
        self.stale = True
        return True


@dataclass(frozen=True, slots=True)
class SyntaxView:
    """A parsed region of a document and conversions between its bytes and document offsets."""

    document: Document
    root: tree_sitter.Node
    base_byte: int  # document byte where the parsed region starts
    start: int  # document code point where the region starts
    end: int

    def byte_at(self, offset: int) -> int:
        """Return the tree byte of document code point ``offset``."""
        return self.document.offset_to_byte(offset) - self.base_byte

    def offset_at(self, byte: int) -> int:
        """Return the document code point of tree byte ``byte``."""
        return self.document.byte_to_offset(byte + self.base_byte)
