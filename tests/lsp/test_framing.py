"""The frame reader: well-formed frames come through whole, broken ones are reported and skipped."""

import asyncio
import threading

import pytest

from fim_server.lsp import framing
from fim_server.lsp.framing import FrameError, FrameReader, serve_frames


def stream(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def frame(body: bytes, header: bytes | None = None) -> bytes:
    return (header if header is not None else b"Content-Length: %d\r\n" % len(body)) + b"\r\n" + body


async def read_all(data: bytes) -> list:
    """Each frame's body, or the text of the FrameError it raised, in order."""
    frames, results = FrameReader(stream(data)), []
    while True:
        try:
            body = await frames.next_body()
        except FrameError as error:
            results.append(str(error))
            continue
        if body is None:
            return results
        results.append(body)


async def test_well_formed_frames_come_through_whole():
    first, second = b'{"id": 1}', '{"text": "caf\u00e9\\r\\n"}'.encode()
    data = frame(first) + b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n" + frame(second)
    assert await read_all(data) == [first, second]


async def test_lowercase_name_and_bare_newlines():
    body = b'{"id": 2}'
    assert await read_all(b"content-length:%d\n\n" % len(body) + body) == [body]


@pytest.mark.parametrize("header, detail", [
    (b"Content-Type: application/json\r\n", "no Content-Length header"),
    (b"Content-Length: ten\r\n", 'Content-Length header "ten" is not a whole number'),
    (b"Content-Length: -4\r\n", 'Content-Length header "-4" is not a whole number'),
])
async def test_unusable_length_is_reported(header, detail):
    broken, good = b'{"id": 1, "method": "shutdown"}', b'{"id": 2}'
    results = await read_all(frame(broken, header) + frame(good))
    assert len(results) == 2
    assert detail in results[0]
    assert results[1] == good


async def test_body_ending_in_a_newline_is_skipped_too():
    broken, good = b'{"id": 1, "method": "x"}\r\n', b'{"id": 2}'
    results = await read_all(frame(broken, b"X-Note: 1\r\n") + frame(good))
    assert "no Content-Length header" in results[0]
    assert results[1:] == [good]


async def test_empty_body_is_reported():
    good = b'{"id": 3}'
    results = await read_all(b"Content-Length: 0\r\n\r\n" + frame(good))
    assert "body is empty" in results[0]
    assert results[1:] == [good]


async def test_headers_without_an_empty_line_are_reported():
    good = b'{"id": 4}'
    data = b'Content-Length: 9\r\n{"id": 1}' + frame(good)
    results = await read_all(data)
    assert "is not \"Name: value\"" in results[0]
    assert results[1:] == [good]


async def test_oversized_body_is_dropped(monkeypatch):
    monkeypatch.setattr(framing, "MAX_BODY_BYTES", 8)
    monkeypatch.setattr(framing, "_DISCARD_CHUNK", 3)
    big, good = b'{"id": 1, "pad": "xxxxxxxx"}', b'{"id":5}'
    results = await read_all(frame(big) + frame(good))
    assert "over the limit of 8 bytes" in results[0]
    assert results[1:] == [good]


async def test_stream_ending_inside_a_body_ends_reading():
    assert await read_all(b"Content-Length: 50\r\n\r\n{\"id\": 1") == []


class RecordingProtocol:
    def __init__(self) -> None:
        self.handled, self.broken = [], []

    def structure_message(self, data):
        return data

    def handle_message(self, message) -> None:
        if message.get("boom"):
            raise RuntimeError("handler failed")
        self.handled.append(message)

    def reply_broken_frame(self, detail: str) -> None:
        self.broken.append(detail)


async def test_serve_frames_continues_after_errors():
    protocol, errors = RecordingProtocol(), []
    data = (frame(b'{"id": 1}') + frame(b"{}", b"Content-Length: x\r\n") + frame(b"not json")
            + frame(b'{"boom": true}') + frame(b'{"id": 2}'))
    await serve_frames(stream(data), protocol, threading.Event(), lambda error, source: errors.append(error))
    assert protocol.handled == [{"id": 1}, {"id": 2}]
    assert len(protocol.broken) == 1
    assert '"x"' in protocol.broken[0]
    assert [type(error).__name__ for error in errors] == ["JSONDecodeError", "RuntimeError"]


async def test_serve_frames_honours_stop_event():
    protocol, stop = RecordingProtocol(), threading.Event()
    stop.set()
    await serve_frames(stream(frame(b'{"id": 1}')), protocol, stop, lambda error, source: None)
    assert protocol.handled == []
