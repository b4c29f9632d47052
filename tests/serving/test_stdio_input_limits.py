"""The stdio mode on hostile input: over-long lines, odd cancel targets, invalid max_lines and min_confidence.

These tests drive ``serve`` through a real pipe with the scripted engine; they
check the JSON-lines framing and replies, not model behaviour.
"""

import asyncio
import io
import json
import os
import threading

import pytest

from fim_server.engine.fake import FakeEngine
from fim_server.pipeline import CompletionPipeline
from fim_server.serving import stdio

LIMIT = 4096


def request(id_, **fields) -> bytes:
    return json.dumps({"id": id_, "prefix": "total = ", "language": "python", **fields}).encode() + b"\n"


async def run_stdio(payload: bytes, engine: FakeEngine | None = None, *, min_confidence: float = 0.0) -> list[dict]:
    """Feed ``payload`` to ``serve`` through a pipe, close it, and return the replies once it exits."""
    engine = engine or FakeEngine(lambda prefix, suffix: "compute_total(items)")
    pipeline = CompletionPipeline(engine, min_confidence=min_confidence)
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)

    writer = threading.Thread(target=feed)
    writer.start()
    output = io.BytesIO()
    try:
        with os.fdopen(read_fd, "rb") as stdin:
            await asyncio.wait_for(stdio.serve(pipeline, stdin=stdin, stdout=output), timeout=60)
    finally:
        writer.join(timeout=10)
        pipeline.close()
    return [json.loads(line) for line in output.getvalue().splitlines()]


async def run_stdio_from_file(payload: bytes, tmp_path) -> list[dict]:
    """Feed ``payload`` to ``serve`` from a regular file, as `fim-server stdio < requests.jsonl` does."""
    path = tmp_path / "requests.jsonl"
    path.write_bytes(payload)
    pipeline = CompletionPipeline(FakeEngine(lambda prefix, suffix: "compute_total(items)"))
    output = io.BytesIO()
    try:
        with open(path, "rb") as stdin:
            await asyncio.wait_for(stdio.serve(pipeline, stdin=stdin, stdout=output), timeout=60)
    finally:
        pipeline.close()
    return [json.loads(line) for line in output.getvalue().splitlines()]


@pytest.fixture(autouse=True)
def small_line_limit(monkeypatch):
    monkeypatch.setattr(stdio, "MAX_LINE_BYTES", LIMIT)


def by_id(replies: list[dict]) -> dict:
    return {reply["id"]: reply for reply in replies if reply["id"] is not None}


@pytest.mark.parametrize("size", [LIMIT + 10, 10 * LIMIT], ids=["just over", "ten times"])
async def test_long_line_keeps_next_request(size):
    long_line = b'{"id": 1, "prefix": "' + b"x" * size + b'"}\n'
    replies = await run_stdio(long_line + request(2) + request(3))
    errors = [reply for reply in replies if reply["id"] is None]
    assert len(errors) == 1
    assert errors[0]["error"]["code"] == "invalid_request"
    assert f"line longer than {LIMIT} bytes" in errors[0]["error"]["message"]
    answered = by_id(replies)
    assert sorted(answered) == [2, 3]
    assert answered[2]["result"]["text"] == "compute_total(items)"
    assert answered[3]["result"]["text"] == "compute_total(items)"


async def test_long_line_at_end_of_input():
    replies = await run_stdio(request(1) + b'{"id": 2, "prefix": "' + b"x" * (3 * LIMIT))
    errors = [reply for reply in replies if reply["id"] is None]
    assert len(errors) == 1
    assert "line longer than" in errors[0]["error"]["message"]
    assert list(by_id(replies)) == [1]
    assert "result" in by_id(replies)[1]


async def test_last_line_without_newline():
    replies = await run_stdio(request(1) + request(2).rstrip(b"\n"))
    assert sorted(by_id(replies)) == [1, 2]


@pytest.mark.parametrize("target", [[1], {"id": 1}, None, True, 1.5], ids=["list", "object", "null", "bool", "float"])
async def test_cancel_with_invalid_target(target):
    replies = await run_stdio(json.dumps({"id": 9, "cancel": target}).encode() + b"\n" + request(10))
    answered = by_id(replies)
    assert answered[9]["error"]["code"] == "invalid_request"
    assert "invalid cancel" in answered[9]["error"]["message"]
    assert answered[10]["result"]["text"] == "compute_total(items)"


async def test_cancel_with_request_fields():
    line = json.dumps({"id": 9, "cancel": 10, "text": "total = ", "line": 0}).encode() + b"\n"
    replies = await run_stdio(request(10) + line)
    answered = by_id(replies)
    assert answered[9]["error"]["code"] == "invalid_request"
    assert answered[9]["error"]["message"] == "a cancel takes only the fields id and cancel: drop line, text"
    assert answered[10]["result"]["text"] == "compute_total(items)"


@pytest.mark.parametrize("max_lines", [0, -3])
async def test_invalid_max_lines_skips_model(max_lines):
    engine = FakeEngine(lambda prefix, suffix: "compute_total(items)")
    replies = await run_stdio(request(1, max_lines=max_lines), engine)
    assert len(replies) == 1
    assert replies[0]["error"]["code"] == "invalid_request"
    assert f"invalid max_lines {max_lines}" in replies[0]["error"]["message"]
    assert engine.calls == []


@pytest.mark.parametrize(("floor", "quoted"), [(1.5, "1.5"), (-0.5, "-0.5"), ("high", '"high"'), (True, "true")])
async def test_invalid_min_confidence_skips_model(floor, quoted):
    engine = FakeEngine(lambda prefix, suffix: "compute_total(items)")
    replies = await run_stdio(request(1, min_confidence=floor), engine)
    assert replies[0]["error"]["code"] == "invalid_request"
    message = replies[0]["error"]["message"]
    assert message == f"invalid min_confidence {quoted}: use a number from 0 to 1 (0 shows every completion)"
    assert engine.calls == []


async def test_min_confidence_hides_weak_completion():
    engine = FakeEngine(lambda prefix, suffix: "compute_total(items)", confidence=0.4)
    answered = by_id(await run_stdio(request(1, min_confidence=0.5) + request(2, min_confidence=0.3), engine))
    assert answered[1]["result"]["text"] == ""
    assert answered[1]["result"]["rejected"] == "confidence 0.400 is below min_confidence 0.5"
    assert answered[2]["result"]["text"] == "compute_total(items)"
    assert answered[2]["result"]["confidence"] == pytest.approx(0.4)


async def test_server_floor_without_request_floor():
    engine = FakeEngine(lambda prefix, suffix: "compute_total(items)", confidence=0.4)
    payload = request(1) + request(2, min_confidence=0) + request(3, min_confidence=0.45)
    answered = by_id(await run_stdio(payload, engine, min_confidence=0.5))
    assert answered[1]["result"]["text"] == ""
    assert answered[1]["result"]["rejected"] == "confidence 0.400 is below min_confidence 0.5"
    assert answered[2]["result"]["text"] == "compute_total(items)"
    assert answered[3]["result"]["rejected"] == "confidence 0.400 is below min_confidence 0.45"


@pytest.mark.parametrize(("fields", "message"), [
    ({"text": "x = 1\n", "offset": 2, "prefix": "y = "}, "conflicting input: give either 'text'"),
    ({"text": "x = 1\n", "offset": 2, "line": 0, "character": 1}, "conflicting cursor: give either 'offset'"),
])
async def test_conflicting_fields_are_rejected(fields, message):
    engine = FakeEngine(lambda prefix, suffix: "compute_total(items)")
    payload = json.dumps({"id": 1, "language": "python", **fields}).encode() + b"\n"
    replies = await run_stdio(payload, engine)
    assert replies[0]["error"]["code"] == "invalid_request"
    assert message in replies[0]["error"]["message"]
    assert engine.calls == []


@pytest.mark.parametrize("size", [LIMIT + 10, 10 * LIMIT], ids=["just over", "ten times"])
async def test_file_input_long_line(size, tmp_path):
    long_line = b'{"id": 1, "prefix": "' + b"x" * size + b'"}\n'
    replies = await run_stdio_from_file(request(0) + long_line + request(2) + request(3)[:-1], tmp_path)
    errors = [reply for reply in replies if reply["id"] is None]
    assert [error["error"]["message"] for error in errors] == [f"line longer than {LIMIT} bytes"]
    answered = by_id(replies)
    assert sorted(answered) == [0, 2, 3]
    assert all(reply["result"]["text"] == "compute_total(items)" for reply in answered.values())


@pytest.mark.parametrize(("field", "value", "choices"), [
    ("mode", "para", 'use one of "auto", "line", "block"'),
    ("comments", "sometimes", 'use one of "complete", "line", "none"'),
])
async def test_enum_error_lists_values(field, value, choices):
    replies = await run_stdio(request(1, **{field: value}))
    assert replies[0]["error"]["code"] == "invalid_request"
    message = replies[0]["error"]["message"]
    assert message == f"invalid {field} \"{value}\": {choices}"


@pytest.mark.parametrize(("fields", "message"), [
    ({"line": "3", "character": 0}, "invalid line \"3\": use an integer or null"),
    ({"line": 0, "character": 1.5}, "invalid character 1.5: use an integer or null"),
    ({"line": 0, "character": 0, "language": 7}, "invalid language 7: use a string or null"),
    ({"line": 0, "character": 0, "colour": "red"}, "unknown field \"colour\": the request fields are id, text, line,"),
], ids=["string line", "fractional character", "numeric language", "unknown field"])
async def test_schema_errors_name_field_and_fix(fields, message):
    engine = FakeEngine(lambda prefix, suffix: "compute_total(items)")
    payload = json.dumps({"id": 1, "text": "total = \n", **fields}).encode() + b"\n"
    replies = await run_stdio(payload, engine)
    assert replies[0]["error"]["code"] == "invalid_request"
    assert replies[0]["error"]["message"].startswith(message)
    assert engine.calls == []


async def test_null_options_mean_defaults():
    engine = FakeEngine(lambda prefix, suffix: "compute_total(items)")
    replies = await run_stdio(request(1, mode=None, comments=None, strings=None, effort=None), engine)
    assert replies[0]["result"]["text"] == "compute_total(items)"
    assert replies[0]["result"]["effort"] == "low"
    assert replies[0]["result"]["mode"] in ("line", "block")
