"""The JSON-lines stdio mode, as a subprocess driven through its pipes, with the bundled model."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE = 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n    \n'


@pytest.fixture(scope="module")
def stdio_process(bundled_model_path):
    env = dict(os.environ, FIM_SERVER_MODEL=str(bundled_model_path), FIM_SERVER_DTYPE="float32")
    process = subprocess.Popen(
        [sys.executable, "-m", "fim_server.cli", "stdio"], cwd=REPO, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
    )
    yield process
    process.stdin.close()
    process.wait(timeout=60)


def exchange(process, lines: list[str], expected: int, timeout: float = 180.0) -> list[dict]:
    for line in lines:
        process.stdin.write(line + "\n")
    process.stdin.flush()
    replies = []
    deadline = time.monotonic() + timeout
    while len(replies) < expected and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        replies.append(json.loads(line))
    return replies


def test_concurrent_requests_each_answered_once(stdio_process):
    requests = [
        json.dumps({"id": i, "text": SOURCE, "line": 4, "character": 4, "language": "python", "effort": effort})
        for i, effort in enumerate(["instant", "low", "medium", "low"])
    ]
    replies = exchange(stdio_process, requests, expected=4)
    assert sorted(reply["id"] for reply in replies) == [0, 1, 2, 3]
    for reply in replies:
        assert "result" in reply, reply
        result = reply["result"]
        assert result["steps"][:2] == ["context", "fill"]
        assert result["model_steps"] >= 1
        assert result["start"] == {"line": 4, "character": 4}
        assert "<|" not in result["text"]


def test_malformed_lines_get_errors_and_server_stays_up(stdio_process):
    lines = [
        "this is not json",
        json.dumps([1, 2, 3]),
        json.dumps({"text": "x = 1"}),
        json.dumps({"id": "a", "text": "x = 1\n", "line": 7, "character": 0}),
        json.dumps({"id": "b", "text": "x = 1\n", "line": 0, "character": 2, "effort": "extreme"}),
        json.dumps({"id": "c", "prefix": "x = ", "bogus_field": 1}),
        json.dumps({"id": "d", "prefix": "import os\nprint(os.", "suffix": ")\n"}),
    ]
    replies = exchange(stdio_process, lines, expected=len(lines))
    assert len(replies) == len(lines)
    by_id = {reply["id"]: reply for reply in replies}
    assert [r["error"]["code"] for r in replies if r["id"] is None] == ["parse_error", "invalid_request", "invalid_request"]
    assert "invalid line 7" in by_id["a"]["error"]["message"]
    assert "invalid effort \"extreme\"" in by_id["b"]["error"]["message"]
    assert "bogus_field" in by_id["c"]["error"]["message"]
    assert "result" in by_id["d"]


def test_cancel_is_acknowledged(stdio_process):
    lines = [
        json.dumps({"id": 100, "text": SOURCE, "line": 4, "character": 4, "effort": "high"}),
        json.dumps({"id": 101, "cancel": 100}),
    ]
    replies = exchange(stdio_process, lines, expected=2)
    by_id = {reply["id"]: reply for reply in replies}
    assert by_id[101]["result"]["cancelled"] == 100
    outcome = by_id[100]
    assert outcome.get("error", {}).get("code") == "cancelled" or "result" in outcome


def test_duplicate_id_in_flight_keeps_one_reply(stdio_process):
    request = json.dumps({"id": 200, "text": SOURCE, "line": 4, "character": 4, "effort": "high"})
    replies = exchange(stdio_process, [request, request], expected=2)
    assert [reply["id"] for reply in replies].count(200) == 1
    [duplicate] = [reply for reply in replies if reply["id"] is None]
    assert duplicate["error"]["code"] == "invalid_request"
    assert "200 is already in flight" in duplicate["error"]["message"]


def test_comment_policy_field(stdio_process):
    text = "def area(r):\n    # multiply \n    return r\n"
    lines = [
        json.dumps({"id": "none", "text": text, "line": 1, "character": 15, "language": "python", "comments": "none"}),
        json.dumps({"id": "line", "text": text, "line": 1, "character": 15, "language": "python", "comments": "line",
                    "effort": "instant"}),
        json.dumps({"id": "bad", "text": text, "line": 1, "character": 15, "comments": "off"}),
    ]
    replies = exchange(stdio_process, lines, expected=len(lines))
    by_id = {reply["id"]: reply for reply in replies}
    skipped = by_id["none"]["result"]
    assert skipped["mode"] == "none"
    assert skipped["steps"] == ["context"]
    assert skipped["rejected"] == "no completion here: inside a comment"
    single = by_id["line"]["result"]
    assert (single["mode"], single["mode_reason"]) == ("line", "inside a comment")
    assert "\n" not in single["text"]
    assert by_id["bad"]["error"]["code"] == "invalid_request"
    assert "comments" in by_id["bad"]["error"]["message"]


def test_requests_from_redirected_file(bundled_model_path, tmp_path):
    """`fim-server stdio < requests.jsonl`: stdin is a regular file, which the event loop cannot watch."""
    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps({"id": i, "text": SOURCE, "line": 4, "character": 4, "effort": "instant"})
                                + "\n" for i in range(3)) + "not json\n")
    env = dict(os.environ, FIM_SERVER_MODEL=str(bundled_model_path), FIM_SERVER_DTYPE="float32")
    with open(requests, "rb") as stdin:
        completed = subprocess.run([sys.executable, "-m", "fim_server.cli", "stdio"], cwd=REPO, env=env, stdin=stdin,
                                   capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    replies = [json.loads(line) for line in completed.stdout.splitlines()]
    assert sorted(reply["id"] for reply in replies if reply["id"] is not None) == [0, 1, 2]
    assert all("result" in reply for reply in replies if reply["id"] is not None)
    [bad] = [reply for reply in replies if reply["id"] is None]
    assert bad["error"]["code"] == "parse_error"
