"""Read the LSP base protocol's frames: header lines, an empty line, then a body of Content-Length bytes.

pygls 2.1's read loop skips a frame whose Content-Length header is missing or
not a number without a reply, and then reads the body as header lines, which
also swallows the next frame's header. A frame with ``Content-Length: 0``
gets no reply either. This loop replies to each broken frame with a parse
error and looks for the next ``Content-Length`` header, so the frames after
it are served. Header names are matched without regard to case, and a bare
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

# A body over this size is read and dropped in pieces, so that the frame after it is still found.
MAX_BODY_BYTES = 256 * 1024 * 1024
_DISCARD_CHUNK = 1024 * 1024

# A header line: an RFC 9110 token, a colon, a value. JSON never starts with a token character.
_HEADER = re.compile(rb"^([A-Za-z0-9!#$%&'*+.^_`|~-]+)[ \t]*:(.*)$", re.DOTALL)
_LENGTH_HEADER = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)


class FrameError(Exception):
    """Error for a frame whose headers cannot be used. Its message names the header problem."""


def _printable(raw: bytes, limit: int = 40) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."


def _body_length(value: bytes) -> int:
    text = value.strip()
    if not text.isdigit():
        raise FrameError(f'the Content-Length header "{_printable(text)}" is not a whole number of bytes')
    return int(text)


class FrameReader:
    """Splitter of a byte stream into message bodies. ``reader`` needs ``readline()`` and ``readexactly(n)`` coroutines."""

    def __init__(self, reader) -> None:
        self.reader = reader
        self._carry = b""  # a line read ahead while looking for the next header

    async def _line(self) -> bytes:
        if self._carry:
            line, self._carry = self._carry, b""
            return line
        return await self.reader.readline()

    async def _read(self, count: int) -> bytes | None:
        """Return ``count`` bytes, or None when the stream ends first."""
        try:
            data = await self.reader.readexactly(count)
        except asyncio.IncompleteReadError:
            return None
        return data if len(data) == count else None

    async def next_body(self) -> bytes | None:
        """Return the next frame's body, or None at the end of the stream.

        Raises ``FrameError`` for a frame whose headers cannot be used, after
        skipping it. The next call continues with the frame after it.
        """
        length: int | None = None
        problem: str | None = None
        in_headers = False
        while True:
            line = await self._line()
            if not line:
                if in_headers:
                    log.warning("the stream ended inside a frame's headers")
                return None
            if not line.strip():
                if not in_headers:
                    continue  # blank lines between frames are skipped
                break
            header = _HEADER.match(line)
            if header is None:
                found = _LENGTH_HEADER.search(line)
                if in_headers:
                    # The headers never ended with an empty line: report this frame, then resume at
                    # a Content-Length header further along the line, where there is one.
                    self._carry = line[found.start():] if found else b""
                    raise FrameError(f'the header line "{_printable(line)}" is not "Name: value"')
                if found:
                    # The body of a frame without a usable length, followed by the next header.
                    line = line[found.start():]
                    header = _HEADER.match(line)
                if header is None:
                    log.debug("skipped %d bytes outside any frame", len(line))
                    continue
            in_headers = True
            if header.group(1).lower() == b"content-length" and problem is None:
                try:
                    length = _body_length(header.group(2))
                except FrameError as error:
                    problem = str(error)
        if problem:
            raise FrameError(problem)
        if length is None:
            raise FrameError("the message has no Content-Length header")
        if length > MAX_BODY_BYTES:
            remaining = length
            while remaining:
                chunk = await self._read(min(remaining, _DISCARD_CHUNK))
                if chunk is None:
                    return None
                remaining -= len(chunk)
            raise FrameError(f"the message body of {length} bytes is over the limit of {MAX_BODY_BYTES} bytes")
        if length == 0:
            raise FrameError("the message body is empty (Content-Length: 0)")
        return await self._read(length)


async def serve_frames(reader, protocol, stop_event: threading.Event,
                       on_error: Callable[[Exception, Any], None]) -> None:
    """Hand each frame's body to ``protocol`` until the stream ends or ``stop_event`` is set.

    ``protocol`` needs ``structure_message``, ``handle_message`` and
    ``reply_broken_frame``. ``on_error`` gets the exceptions that handling a
    body raises, as pygls's error handler does.
    """
    frames = FrameReader(reader)
    while not stop_event.is_set():
        try:
            body = await frames.next_body()
        except FrameError as error:
            protocol.reply_broken_frame(str(error))
            continue
        if body is None:
            break
        try:
            message = json.loads(body, object_hook=protocol.structure_message)
            protocol.handle_message(message)
        except Exception as error:  # the server stays up whatever one message does
            if not isinstance(error, UNREADABLE):
                log.exception("could not handle a message")
            on_error(error, JsonRpcException)


__all__ = ["FrameError", "FrameReader", "MAX_BODY_BYTES", "serve_frames"]
