"""Read the LSP base protocol's frames: header lines, an empty line, then a body of Content-Length bytes.

pygls 2.1's read loop skips a frame whose Content-Length header is missing or
not a number without a reply, and then reads the body as header lines, which
also swallows the next frame's header. A frame with ``Content-Length: 0``
gets no reply either. This loop replies to each broken frame with a parse
error. It then looks for the next ``Content-Length`` header, on a line of its
own or at the end of a line of other bytes, so the frames after it are served.
Header names are matched without regard to case, and a bare
``\\n`` ends a header line as well as ``\\r\\n``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from pygls.exceptions import JsonRpcException

from .protocol import UNREADABLE

log = logging.getLogger("fim_server.lsp.framing")

# A larger body gets a parse error, and its bytes are skipped like any bytes outside a frame.
MAX_BODY_BYTES = 256 * 1024 * 1024
# int() rejects strings of over 4300 digits, and any length with more digits than this is over the limit.
_MAX_LENGTH_DIGITS = 15

# A header line: an RFC 9110 token, a colon, then a value without CR or LF before the line end.
_HEADER = re.compile(rb"^([A-Za-z0-9!#$%&'*+.^_`|~-]+)[ \t]*:([^\r\n]*)\r?\n$")
# A Content-Length header at the end of a line, where a frame's header follows the body of a broken one.
_TRAILING_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*[0-9]+[ \t]*\r?\n\Z", re.IGNORECASE)
_LENGTH_NAME = b"content-length"


class FrameError(Exception):
    """Error for bytes that do not form a usable frame. Its message names the problem."""


class _OverlongLine(Exception):
    """A line longer than the stream reader's buffer limit, which the reader has dropped."""


def _printable(raw: bytes, limit: int = 40) -> str:
    """Return ``raw`` as text for a log line or an error message: shortened, control characters escaped."""
    text = raw.decode("utf-8", "replace").strip()
    if len(text) > limit:
        text = text[:limit] + "..."
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _body_length(value: bytes) -> int:
    text = value.strip()
    if not text.isdigit():
        raise FrameError(f'the Content-Length header "{_printable(text)}" is not a whole number of bytes')
    if len(text.lstrip(b"0")) > _MAX_LENGTH_DIGITS:
        raise FrameError(f'the Content-Length header "{_printable(text)}" is too large')
    return int(text)


def _glued_header_start(line: bytes) -> int:
    """Return where a Content-Length header that other bytes run into starts in ``line``, or 0 for none.

    A line that is a header itself keeps its meaning, so ``X-Content-Length: 5``
    and ``Content-Type: a; Content-Length: 5`` stay headers. A header name that
    runs into ``Content-Length`` without a hyphen, as in ``garbageContent-Length: 5``,
    counts as other bytes followed by the header.
    """
    found = _TRAILING_LENGTH.search(line)
    if found is None or found.start() == 0:
        return 0
    header = _HEADER.match(line)
    if header is None:
        return found.start()
    name = header.group(1).lower()
    if name.endswith(_LENGTH_NAME) and name != _LENGTH_NAME and not name[: -len(_LENGTH_NAME)].endswith(b"-"):
        return found.start()
    return 0


class FrameReader:
    """Splitter of a byte stream into message bodies. ``reader`` needs ``readline()`` and ``readexactly(n)`` coroutines."""

    def __init__(self, reader) -> None:
        self.reader = reader
        self._carry = b""  # a Content-Length header found at the end of a line of other bytes
        # Set after a reported problem, so that the rest of a broken frame is skipped without another reply.
        self._reported = False

    async def _line(self) -> tuple[bytes, bool]:
        """Return the next line, and whether it is a header cut from the end of a line of other bytes."""
        if self._carry:
            line, self._carry = self._carry, b""
            return line, True
        try:
            return await self.reader.readline(), False
        except ValueError as error:  # asyncio.StreamReader drops a line over its limit
            raise _OverlongLine() from error

    async def _read(self, count: int) -> bytes | None:
        """Return ``count`` bytes, or None when the stream ends first."""
        try:
            data = await self.reader.readexactly(count)
        except asyncio.IncompleteReadError:
            return None
        return data if len(data) == count else None

    def _fail(self, message: str) -> FrameError:
        self._reported = True
        return FrameError(message)

    def _skip(self, junk: bytes) -> None:
        """Report bytes outside any frame, unless they follow a problem that was already reported."""
        if not self._reported:
            raise self._fail(f'{len(junk)} bytes outside any frame were skipped: "{_printable(junk)}"')
        log.debug("skipped %d bytes of a broken frame", len(junk))

    async def next_body(self) -> bytes | None:
        """Return the next frame's body, or None at the end of the stream.

        Raises ``FrameError`` for bytes that do not form a usable frame, after
        skipping them. The next call continues with the frame after them.
        """
        length: int | None = None
        length_was_cut = False  # the length came from a header cut from a line of other bytes
        problem: str | None = None
        in_headers = False
        while True:
            try:
                line, cut = await self._line()
            except _OverlongLine:
                if in_headers:
                    raise self._fail("a header line is longer than the reader's limit") from None
                self._skip(b"(a line longer than the reader's limit)")
                continue
            if not line.endswith(b"\n"):
                if in_headers or line.strip():
                    log.warning("the stream ended inside a frame's headers")
                return None
            if start := _glued_header_start(line):
                self._carry = line[start:]
                if in_headers:
                    raise self._fail(f'the header line "{_printable(line[:start])}" is not "Name: value"')
                if line[:start].strip():
                    self._skip(line[:start])
                continue
            if not line.strip():
                if not in_headers:
                    continue  # blank lines between frames are skipped
                break
            header = _HEADER.match(line)
            if header is None:
                if in_headers:
                    raise self._fail(f'the header line "{_printable(line)}" is not "Name: value"')
                self._skip(line)
                continue
            in_headers = True
            if header.group(1).lower() != _LENGTH_NAME:
                continue
            if length_was_cut and not cut:
                # A header on a line of its own is the better evidence: the cut one was text in a broken body.
                length, problem = None, None
            length_was_cut = cut
            if problem is not None:
                continue
            try:
                value = _body_length(header.group(2))
            except FrameError as error:
                problem = str(error)
                continue
            if length is not None and value != length:
                problem = f"the Content-Length headers disagree: {length} and {value}"
            length = value
        if problem:
            raise self._fail(problem)
        if length is None:
            raise self._fail("the message has no Content-Length header")
        if length > MAX_BODY_BYTES:
            raise self._fail(f"the message body of {length} bytes is over the limit of {MAX_BODY_BYTES} bytes")
        if length == 0:
            raise self._fail("the message body is empty (Content-Length: 0)")
        body = await self._read(length)
        if body is None:
            log.warning("the stream ended inside a message body of %d bytes", length)
            return None
        self._reported = False
        return body


async def serve_frames(reader, protocol, stop_event: threading.Event,
                       on_error: Callable[[Exception, Any], None]) -> int | None:
    """Hand each frame's body to ``protocol`` until the stream ends, ``stop_event`` is set or an exit request.

    Returns the exit code of an ``exit`` notification (its ``SystemExit``), or
    None when the stream ended or the stop event was set. ``protocol`` needs
    ``structure_message``, ``handle_message`` and ``reply_parse_error``.
    ``on_error`` gets the exceptions that handling a body raises, as pygls's
    error handler does.
    """
    frames = FrameReader(reader)
    while not stop_event.is_set():
        try:
            body = await frames.next_body()
        except FrameError as error:
            protocol.reply_parse_error(str(error))
            continue
        if body is None:
            break
        try:
            # The LSP base protocol allows only UTF-8 bodies; json.loads would also guess UTF-16 and UTF-32.
            data = json.loads(body.decode("utf-8"))
            # Only the top-level object is a message. pygls passes structure_message to json.loads as
            # an object hook instead, which also gets every object nested inside params.
            message = protocol.structure_message(data) if isinstance(data, dict) else data
            protocol.handle_message(message)
        except SystemExit as exit_request:
            if exit_request.code is None:
                return 0
            return exit_request.code if isinstance(exit_request.code, int) else 1
        except RecursionError:
            protocol.reply_parse_error("the message body nests JSON too deeply to parse")
        except Exception as error:  # the server stays up whatever one message does
            if not isinstance(error, UNREADABLE):
                log.exception("could not handle a message")
            on_error(error, JsonRpcException)
    return None


__all__ = ["FrameError", "FrameReader", "MAX_BODY_BYTES", "serve_frames"]
