"""Conversions between the three coordinate systems that meet at the cursor.

* LSP positions: zero-based line and character, where the character counts
  code units of the negotiated encoding (``utf-16`` by default, also ``utf-8``
  and ``utf-32``). Lines end at ``\\n``, ``\\r\\n`` or ``\\r`` (LSP 3.17).
* Python string indexes: code points.
* tree-sitter: UTF-8 byte offsets, and points whose row counts ``\\n`` only
  and whose column counts bytes.

``LineIndex`` stores the length of every line in code points and in bytes,
line terminator included. It accumulates line starts lazily. An edit costs a
splice of the lines it touches, and the next lookup sums lengths from the first
changed line up to the requested line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate
from typing import Literal

Encoding = Literal["utf-8", "utf-16", "utf-32"]
ENCODINGS: tuple[str, ...] = ("utf-8", "utf-16", "utf-32")

LINE_TERMINATOR = re.compile(r"\r\n|\r|\n")


def check_encoding(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"invalid position encoding {encoding!r}: use one of {', '.join(ENCODINGS)}")


def code_units(text: str, encoding: Encoding = "utf-16") -> int:
    """Return the length of ``text`` in code units of ``encoding``."""
    if encoding == "utf-32" or text.isascii():
        return len(text)
    if encoding == "utf-16":
        return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
    check_encoding(encoding)
    return len(text.encode("utf-8", "surrogatepass"))


def _utf8_width(code: int) -> int:
    if code < 0x80:
        return 1
    if code < 0x800:
        return 2
    return 3 if code < 0x10000 else 4


def _utf16_width(code: int) -> int:
    return 2 if code > 0xFFFF else 1


def index_for_units(text: str, units: int, encoding: Encoding = "utf-16") -> int:
    """Return the code-point index in ``text`` that is ``units`` code units in.

    A count past the end clamps to ``len(text)``, which is how LSP treats a
    character beyond the line end. A count that falls inside a character, such as the
    second half of a UTF-16 surrogate pair, rounds down to that character.
    """
    if units < 0:
        raise ValueError(f"invalid character offset {units}: must be zero or more")
    if encoding == "utf-32" or text.isascii():
        return min(units, len(text))
    check_encoding(encoding)
    width_of = _utf8_width if encoding == "utf-8" else _utf16_width
    counted = 0
    for index, ch in enumerate(text):
        width = width_of(ord(ch))
        if counted + width > units:
            return index
        counted += width
    return len(text)


def utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def byte_to_index(text: str, byte: int) -> int:
    """Return the code-point index in ``text`` at UTF-8 byte offset ``byte``."""
    return index_for_units(text, byte, "utf-8")


def split_line_lengths(text: str, *, final: bool) -> tuple[list[int], list[int]]:
    """Return (code points, bytes) of each line in ``text``, terminators included.

    With ``final`` the text after the last terminator counts as a line even when
    empty, as the last line of a document does. Without it ``text`` must end at a
    line boundary and a trailing empty piece is dropped.
    """
    chars: list[int] = []
    start = 0
    for match in LINE_TERMINATOR.finditer(text):
        chars.append(match.end() - start)
        start = match.end()
    if final or start < len(text):
        chars.append(len(text) - start)
    if text.isascii():
        return chars, list(chars)
    sizes = []
    position = 0
    for count in chars:
        sizes.append(utf8_length(text[position : position + count]))
        position += count
    return chars, sizes


class LineIndex:
    """Line starts of a text, in code points and in UTF-8 bytes, kept in step with edits."""

    def __init__(self, text: str) -> None:
        self._chars, self._bytes = split_line_lengths(text, final=True)
        self._char_starts: list[int] = [0]
        self._byte_starts: list[int] = [0]
        self._valid = 1  # entries of the start lists that are up to date

    @property
    def line_count(self) -> int:
        return len(self._chars)

    def _ensure(self, line: int) -> None:
        """Accumulate line starts up to and including ``line``."""
        if line < self._valid:
            return
        first = self._valid - 1
        char_start, byte_start = self._char_starts[first], self._byte_starts[first]
        del self._char_starts[first:], self._byte_starts[first:]
        self._char_starts.extend(accumulate(self._chars[first:line], initial=char_start))
        self._byte_starts.extend(accumulate(self._bytes[first:line], initial=byte_start))
        self._valid = line + 1

    def _ensure_past(self, starts: list[int], target: int) -> None:
        """Accumulate line starts until one passes ``target`` in ``starts`` or the text ends."""
        step = 256
        while self._valid < len(self._chars) and starts[self._valid - 1] <= target:
            self._ensure(min(len(self._chars) - 1, self._valid - 1 + step))
            step *= 2

    def line_start(self, line: int) -> int:
        """Return the code-point offset where ``line`` starts (``line_count`` gives the end)."""
        return self._start(self._char_starts, self._chars, line)

    def line_byte_start(self, line: int) -> int:
        """Return the UTF-8 byte offset where ``line`` starts (``line_count`` gives the end)."""
        return self._start(self._byte_starts, self._bytes, line)

    def _start(self, starts: list[int], lengths: list[int], line: int) -> int:
        last = len(lengths) - 1
        self._ensure(min(line, last))
        return starts[last] + lengths[last] if line > last else starts[line]

    def line_of(self, offset: int) -> int:
        """Return the line that contains code-point ``offset`` (a terminator belongs to its line)."""
        self._ensure_past(self._char_starts, offset)
        return bisect_right(self._char_starts, offset, 0, self._valid) - 1

    def line_span(self, text: str, line: int) -> tuple[int, int]:
        """Return (start, end) code-point offsets of ``line`` without its terminator."""
        start = self.line_start(line)
        end = start + self._chars[line]
        while end > start and text[end - 1] in "\r\n":
            end -= 1
        return start, end

    def replace_lines(self, first: int, last: int, chars: list[int], sizes: list[int]) -> None:
        """Replace the lengths of lines ``first..last`` (inclusive) with new ones."""
        self._chars[first : last + 1] = chars
        self._bytes[first : last + 1] = sizes
        self._valid = min(self._valid, first + 1)

    # -- conversions ----------------------------------------------------------------

    def position_to_offset(self, text: str, line: int, character: int, encoding: Encoding = "utf-16") -> int:
        """Return the code-point offset of an LSP position.

        A line past the end clamps to the end of the text and a character past
        the line end clamps to the line end, as LSP clients expect.
        """
        if line < 0 or character < 0:
            raise ValueError(f"invalid position {line}:{character}: line and character must be zero or more")
        if line >= self.line_count:
            return len(text)
        start, end = self.line_span(text, line)
        return start + index_for_units(text[start:end], character, encoding)

    def offset_to_position(self, text: str, offset: int, encoding: Encoding = "utf-16") -> tuple[int, int]:
        """Return the LSP (line, character) of a code-point offset."""
        self._check_offset(text, offset)
        line = self.line_of(offset)
        start, end = self.line_span(text, line)
        return line, code_units(text[start : min(offset, end)], encoding)

    def offset_to_byte(self, text: str, offset: int) -> int:
        """Return the UTF-8 byte offset of a code-point offset."""
        self._check_offset(text, offset)
        line = self.line_of(offset)
        start = self.line_start(line)
        return self.line_byte_start(line) + utf8_length(text[start:offset])

    def byte_to_offset(self, text: str, byte: int) -> int:
        """Return the code-point offset of a UTF-8 byte offset (rounded down inside a character)."""
        if byte < 0:
            raise ValueError(f"invalid byte offset {byte}: must be zero or more")
        self._ensure_past(self._byte_starts, byte)
        low = bisect_right(self._byte_starts, byte, 0, self._valid) - 1
        start = self.line_start(low)
        line_text = text[start : start + self._chars[low]]
        return start + byte_to_index(line_text, byte - self.line_byte_start(low))

    @staticmethod
    def _check_offset(text: str, offset: int) -> None:
        if not 0 <= offset <= len(text):
            raise ValueError(f"invalid offset {offset}: the text has {len(text)} code points")


def ts_point(source: bytes, byte: int, start: int = 0) -> tuple[int, int]:
    """Return the tree-sitter point (row, byte column) of ``byte`` in a tree of ``source[start:]``.

    Rows count ``\\n`` only, as tree-sitter does.
    """
    row = source.count(b"\n", start, byte)
    line_start = source.rfind(b"\n", start, byte) + 1 or start
    return row, byte - line_start


def advance_point(point: tuple[int, int], inserted: bytes) -> tuple[int, int]:
    """Return the point reached after ``inserted`` starting at ``point``."""
    rows = inserted.count(b"\n")
    if rows == 0:
        return point[0], point[1] + len(inserted)
    return point[0] + rows, len(inserted) - (inserted.rfind(b"\n") + 1)


__all__ = [
    "ENCODINGS",
    "Encoding",
    "LineIndex",
    "advance_point",
    "byte_to_index",
    "code_units",
    "index_for_units",
    "split_line_lengths",
    "ts_point",
    "utf8_length",
]
