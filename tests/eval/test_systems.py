import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fim_server.evaluation.systems import (
    SYSTEM_KINDS,
    BuildContext,
    Completion,
    SpecError,
    build_system,
    parse_spec,
    register_system,
    repeat_previous_line,
)
from fim_server.evaluation.tasks import Task

TASK = Task(task_id="t/1", suite="t", prefix="def scale(values, factor):\n    result = []\n    ", suffix="\n    return result\n",
            language="python", path="scale.py", reference="for value in values:\n        result.append(value * factor)")


def test_parse_spec_forms():
    assert parse_spec("pipeline:high") == ("pipeline", {"effort": "high"})
    assert parse_spec("pipeline:effort=low,model=/tmp/m,name=small") == (
        "pipeline", {"effort": "low", "model": "/tmp/m", "name": "small"})
    assert parse_spec("http:http://127.0.0.1:9/v1/completions") == (
        "http", {"url": "http://127.0.0.1:9/v1/completions"})
    assert parse_spec("empty") == ("empty", {})


@pytest.mark.parametrize("spec, message", [
    ("beam:wide", "unknown system kind"),
    ("empty:quiet", "only key=value"),
    ("http:url=http://127.0.0.1:1,=x", "expected key=value"),
])
def test_parse_spec_errors(spec, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(spec)


@pytest.mark.parametrize("spec, message", [
    ("pipeline:turbo", "invalid effort"),
    ("pipeline:effort=low,speed=2", "unknown option 'speed'"),
    ("http:url=ftp://127.0.0.1/x", "invalid url"),
    ("http:url=http://127.0.0.1:1/v1/completions,max_tokens=many", "invalid number"),
])
def test_build_errors(spec, message):
    with pytest.raises(SpecError, match=message):
        build_system(spec, BuildContext(model="/nonexistent"))


def test_registry_accepts_a_new_kind():
    class Echo:
        kind = "model"

        def __init__(self, name):
            self.name = name

        def warm_up(self):
            pass

        def complete(self, task):
            return Completion(text=task.suffix.strip(), latency_ms=0.0)

        def close(self):
            pass

    register_system("echo-suffix")(lambda options, context: Echo(options.get("name", "echo")))
    try:
        system = build_system("echo-suffix:name=mirror", BuildContext(model=""))
        assert system.name == "mirror"
        assert system.complete(TASK).text == "return result"
    finally:
        SYSTEM_KINDS.pop("echo-suffix")


def test_reference_systems():
    context = BuildContext(model="")
    assert build_system("empty", context).complete(TASK).text == ""
    assert build_system("reference", context).complete(TASK).text == TASK.reference
    assert build_system("reference", context).complete(Task(task_id="x", suite="x", prefix="a", suffix="",
                                                            language=None)).text is None
    assert build_system("repeat-line", context).complete(TASK).text == "result = []"


def test_repeat_line_keeps_the_cursor_column():
    task = Task(task_id="t/2", suite="t", prefix="x = compute(1)\nx = ", suffix="\n", language="python")
    assert repeat_previous_line(task) == "compute(1)"


class _CompletionsHandler(BaseHTTPRequestHandler):
    requests: list = []
    reply: tuple = (200, {"choices": [{"text": "for value in values:"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, body, self.headers.get("Authorization")))
        status, payload = type(self).reply
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def completions_server():
    _CompletionsHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CompletionsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/completions"
    server.shutdown()
    server.server_close()


def test_http_system_sends_prompt_and_suffix(completions_server, monkeypatch):
    _CompletionsHandler.reply = (200, {"choices": [{"text": "for value in values:"}]})
    monkeypatch.setenv("EVAL_TEST_KEY", "secret-value")
    system = build_system(f"http:url={completions_server},model=tiny,max_tokens=32,api_key_env=EVAL_TEST_KEY",
                          BuildContext(model=""))
    completion = system.complete(TASK)
    assert completion.text == "for value in values:"
    assert completion.error is None
    assert completion.latency_ms > 0
    path, body, authorization = _CompletionsHandler.requests[0]
    assert path == "/v1/completions"
    assert body == {"model": "tiny", "prompt": TASK.prefix, "suffix": TASK.suffix, "max_tokens": 32,
                    "temperature": 0.0}
    assert authorization == "Bearer secret-value"


@pytest.mark.parametrize("reply, message", [
    ((500, {"error": "overloaded"}), "HTTP 500"),
    ((200, b"not json"), "invalid response"),
    ((200, {"choices": []}), "invalid response"),
    ((200, {"choices": [{"text": 7}]}), "invalid response"),
])
def test_http_system_reports_bad_replies(completions_server, reply, message):
    _CompletionsHandler.reply = reply
    system = build_system(f"http:{completions_server}", BuildContext(model=""))
    completion = system.complete(TASK)
    assert completion.text == ""
    assert message in completion.error


def test_http_system_raises_on_refused_connection():
    system = build_system("http:url=http://127.0.0.1:9/v1/completions,timeout=5", BuildContext(model=""))
    with pytest.raises(ConnectionError, match="request to http://127.0.0.1:9/v1/completions failed"):
        system.complete(TASK)


def test_pipeline_system_runs_the_bundled_model(bundled_model_path):
    context = BuildContext(model=str(bundled_model_path), dtype="float32")
    instant = build_system("pipeline:instant", context)
    low = build_system("pipeline:low", context)
    try:
        assert len(context.engines) == 1
        completion = instant.complete(TASK)
        assert completion.error is None
        assert isinstance(completion.text, str)
        assert completion.latency_ms > 0
        assert completion.info["effort"] == "instant"
        assert completion.info["mode"] in ("line", "block")
        assert 1 <= completion.info["model_steps"] <= 4
        assert 0.0 <= completion.info["confidence"] <= 1.0
        assert low.complete(TASK).info["effort"] == "low"
    finally:
        instant.close()
        low.close()
