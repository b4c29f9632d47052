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
    big, good = b'{"id": 1, "pad": "xxxxxxxx"}', b'{"id":5}'
    results = await read_all(frame(big) + frame(good))
    assert "over the limit of 8 bytes" in results[0]
    assert results[1:] == [good]


async def test_stream_ending_inside_a_body_ends_reading():
    assert await read_all(b"Content-Length: 50\r\n\r\n{\"id\": 1") == []


async def test_overlong_length_is_reported():
    good = b'{"id": 6}'
    results = await read_all(frame(b"{}", b"Content-Length: " + b"9" * 5000 + b"\r\n") + frame(good))
    assert "is too large" in results[0]
    assert results[1:] == [good]


async def test_conflicting_lengths_are_reported():
    good = b'{"id": 7}'
    results = await read_all(frame(b'{"id": 1}', b"Content-Length: 9\r\nContent-Length: 12\r\n") + frame(good))
    assert "disagree: 9 and 12" in results[0]
    assert results[1:] == [good]


async def test_length_text_inside_broken_body_is_passed_over():
    # The broken frame's body mentions a Content-Length header; only the one ending the line starts a frame.
    broken = b'{"id": 1, "params": {"note": "Content-Length: 5\\r\\n\\r\\n"}}'
    good = b'{"id": 8}'
    results = await read_all(frame(broken, b"Content-Type: x\r\n") + frame(good))
    assert results == ["the message has no Content-Length header", good]


@pytest.mark.parametrize("headers", [
    b"X-Content-Length: 5\r\nContent-Length: %d\r\n",
    b"Content-Length: %d\r\nX-Content-Length: 5\r\n",
    b"Content-Length: %d\r\nContent-Type: text; Content-Length: 5\r\n",
    b" Content-Length: %d\r\n",
    b"Content-Length: 0000000000000000%d\r\n",
], ids=["x-header first", "x-header last", "length text in a value", "leading space", "leading zeros"])
async def test_headers_that_mention_content_length(headers):
    body = b'{"id": 12}'
    assert await read_all(headers % len(body) + b"\r\n" + body) == [body]


async def test_own_line_header_beats_one_cut_from_junk():
    # After a broken frame, junk ending in "Content-Length: 3" is followed by a real frame's header.
    good = b'{"id": 13}'
    data = frame(b'{"a": 1}Content-Length: 3\n', b"Content-Type: x\r\n") + frame(good)
    assert await read_all(data) == ["the message has no Content-Length header", good]


@pytest.mark.parametrize("junk", [b"garbage", b"\x00\xff\xfe\x01", b'{"id": 1}\n'])
async def test_junk_before_a_frame_is_reported(junk):
    good = b'{"id": 9}'
    results = await read_all(junk + frame(good))
    assert "outside any frame were skipped" in results[0]
    assert results[1:] == [good]


async def test_carriage_return_endings_are_reported():
    good = b'{"id": 10}'
    results = await read_all(b'Content-Length: 9\r\r{"id": 1}' + frame(good))
    assert "\\r" in results[0]  # escaped, so the log line stays one line
    assert "\r" not in results[0]
    assert results[1:] == [good]


async def test_overlong_line_is_skipped():
    reader = asyncio.StreamReader(limit=64)
    good = b'{"id": 11}'
    reader.feed_data(b"x" * 200 + b"\n" + frame(good))
    reader.feed_eof()
    frames, results = FrameReader(reader), []
    with pytest.raises(FrameError, match="longer than the reader's limit"):
        await frames.next_body()
    assert await frames.next_body() == good


class RecordingProtocol:
    def __init__(self) -> None:
        self.handled, self.parse_errors = [], []

    def structure_message(self, data):
        return data

    def handle_message(self, message) -> None:
        if message.get("boom"):
            raise RuntimeError("handler failed")
        if message.get("exit") is not None:
            raise SystemExit(message["exit"])
        self.handled.append(message)

    def reply_parse_error(self, detail: str) -> None:
        self.parse_errors.append(detail)


async def serve(data: bytes, protocol: RecordingProtocol, errors: list | None = None):
    def on_error(error, source):
        if errors is None:
            raise AssertionError(f"unexpected error {error!r}")
        errors.append(error)

    return await serve_frames(stream(data), protocol, threading.Event(), on_error)


async def test_serve_frames_continues_after_errors():
    protocol, errors = RecordingProtocol(), []
    data = (frame(b'{"id": 1}') + frame(b"{}", b"Content-Length: x\r\n") + frame(b"not json")
            + frame(b'{"boom": true}') + frame(b'{"id": 2}'))
    assert await serve(data, protocol, errors) is None
    assert protocol.handled == [{"id": 1}, {"id": 2}]
    assert len(protocol.parse_errors) == 1
    assert '"x"' in protocol.parse_errors[0]
    assert [type(error).__name__ for error in errors] == ["JSONDecodeError", "RuntimeError"]


@pytest.mark.parametrize("body, error", [
    ('{"id": 1}'.encode("utf-16"), "UnicodeDecodeError"),
    (b'\xef\xbb\xbf{"id": 1}', "JSONDecodeError"),
], ids=["utf-16", "byte order mark"])
async def test_serve_frames_accepts_only_utf8(body, error):
    protocol, errors = RecordingProtocol(), []
    await serve(frame(body) + frame(b'{"id": 2}'), protocol, errors)
    assert [type(raised).__name__ for raised in errors] == [error]
    assert protocol.handled == [{"id": 2}]


async def test_serve_frames_rejects_deep_nesting():
    protocol = RecordingProtocol()
    deep = b'{"id": 1, "params": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    await serve(frame(deep) + frame(b'{"id": 2}'), protocol)
    assert protocol.parse_errors == ["the message body nests JSON too deeply to parse"]
    assert protocol.handled == [{"id": 2}]


@pytest.mark.parametrize("code", [0, 1])
async def test_serve_frames_returns_exit_code(code):
    protocol = RecordingProtocol()
    data = frame(b'{"id": 1}') + frame(b'{"exit": %d}' % code) + frame(b'{"id": 2}')
    assert await serve(data, protocol) == code
    assert protocol.handled == [{"id": 1}]


async def test_serve_frames_honours_stop_event():
    protocol, stop = RecordingProtocol(), threading.Event()
    stop.set()
    await serve_frames(stream(frame(b'{"id": 1}')), protocol, stop, lambda error, source: None)
    assert protocol.handled == []
