"""API key, body size, time limit, overload, client disconnects, health and metrics."""

import concurrent.futures
import logging
import socket
import threading
import time

import httpx
import pytest

from http_helpers import continuation, running_api
from fim_server.engine.fake import FakeEngine
from fim_server.http import check_bind_host
from fim_server.http.service import USAGE_COUNT_CHARS

ENDPOINTS = [
    ("/v1/completions", {"prompt": "x = "}, lambda data: data["error"]["message"]),
    ("/v1/fim/completions", {"prompt": "x = "}, lambda data: data["message"]),
    ("/infill", {"input_prefix": "x = "}, lambda data: data["error"]["message"]),
    ("/api/generate", {"prompt": "x = ", "stream": False}, lambda data: data["error"]),
]


@pytest.fixture
def keyed_api():
    with running_api(FakeEngine(continuation), api_key="secret-key", max_body_bytes=2048) as (url, _service):
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client


@pytest.mark.parametrize("path, body, message", ENDPOINTS)
def test_missing_key_is_rejected_in_each_format(keyed_api, path, body, message):
    response = keyed_api.post(path, json=body)
    assert response.status_code == 401
    assert "API key" in message(response.json())
    wrong = keyed_api.post(path, json=body, headers={"Authorization": "Bearer not-the-key"})
    assert wrong.status_code == 401


def test_bearer_and_x_api_key_are_accepted(keyed_api):
    bearer = keyed_api.post("/v1/completions", json={"prompt": "x = "},
                            headers={"Authorization": "Bearer secret-key"})
    assert bearer.status_code == 200
    header = keyed_api.post("/v1/completions", json={"prompt": "x = "}, headers={"x-api-key": "secret-key"})
    assert header.status_code == 200


def test_health_needs_no_key(keyed_api):
    response = keyed_api.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("path, body, message", ENDPOINTS)
def test_oversized_body_is_rejected_in_each_format(keyed_api, path, body, message):
    big = {**body, "input_extra": [{"filename": "a.py", "text": "x" * 5000}], "suffix": "y" * 5000}
    response = keyed_api.post(path, json=big, headers={"Authorization": "Bearer secret-key"})
    assert response.status_code == 413
    assert "exceeds the limit of 2048 bytes" in message(response.json())


def test_chunked_oversized_body_is_rejected(keyed_api):
    def chunks():
        yield b'{"prompt": "'
        for _ in range(10):
            yield b"z" * 1000
        yield b'"}'

    response = keyed_api.post("/v1/completions", content=chunks(),
                              headers={"Authorization": "Bearer secret-key", "Content-Type": "application/json"})
    assert response.status_code == 413


def test_slow_completion_times_out_with_504(caplog):
    engine = FakeEngine(continuation, steps=40, step_seconds=0.05)
    with caplog.at_level(logging.WARNING, logger="fim_server.http"):
        with running_api(engine, request_timeout=0.3) as (url, _service):
            response = httpx.post(url + "/infill", json={"input_prefix": "x = "}, timeout=30)
    assert response.status_code == 504
    assert "timed out" in response.json()["error"]["message"]
    assert "POST /infill failed with 504 after" in caplog.text


def test_usage_counts_capped_prompt():
    engine = FakeEngine(continuation)
    words = "word " * 40_000  # 200,000 characters, 40,000 fallback tokens on each side
    with running_api(engine) as (url, _service):
        response = httpx.post(url + "/v1/completions", json={"prompt": words, "suffix": words}, timeout=60)
    assert response.status_code == 200
    per_side = USAGE_COUNT_CHARS // len("word ")
    assert response.json()["usage"]["prompt_tokens"] in (2 * per_side, 2 * per_side + 1)


def test_overload_is_rejected_with_503():
    engine = FakeEngine(continuation, steps=20, step_seconds=0.05)
    with running_api(engine, max_inflight=1) as (url, _service):
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(
                lambda _: httpx.post(url + "/v1/completions", json={"prompt": "x = "}, timeout=30), range(4)))
    statuses = sorted(response.status_code for response in responses)
    assert 200 in statuses
    assert 503 in statuses
    rejected = next(response for response in responses if response.status_code == 503)
    assert "overloaded" in rejected.json()["error"]["message"]
    assert rejected.headers["retry-after"] == "1"


def test_client_disconnect_cancels_the_fill():
    stopped = threading.Event()
    engine = FakeEngine(continuation, steps=200, step_seconds=0.02)
    original_fill = engine.fill

    def watching_fill(*args, should_stop=None, **kwargs):
        try:
            return original_fill(*args, should_stop=should_stop, **kwargs)
        except Exception:
            stopped.set()
            raise

    engine.fill = watching_fill
    with running_api(engine) as (url, _service):
        host, port = url.removeprefix("http://").split(":")
        body = b'{"prompt": "x = "}'
        with socket.create_connection((host, int(port))) as raw:
            raw.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            threading.Event().wait(0.3)
        assert stopped.wait(timeout=10), "the fill kept running after the client left"


def test_disconnect_during_upload_is_not_a_server_error(caplog):
    caplog.set_level("INFO")
    with running_api(FakeEngine(continuation)) as (url, _service):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as raw:
            raw.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 100\r\n\r\n" + b'{"prompt": ')
            threading.Event().wait(0.3)
        deadline = time.monotonic() + 10
        while not any("closed the connection" in record.getMessage() for record in caplog.records):
            assert time.monotonic() < deadline, "the server never logged the dropped upload"
            threading.Event().wait(0.1)
        metrics = httpx.get(url + "/metrics").text
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
    assert 'status="500"' not in metrics


def test_metrics_exposition(api):
    api.post("/v1/completions", json={"prompt": "x = "})
    api.post("/v1/completions", json={"prompt": 1})
    response = api.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'fim_http_requests_total{endpoint="/v1/completions",status="200"} 1' in text
    assert 'fim_http_requests_total{endpoint="/v1/completions",status="400"} 1' in text
    assert 'fim_http_request_duration_seconds_count{endpoint="/v1/completions"} 2' in text
    assert 'fim_http_request_duration_seconds_bucket{endpoint="/v1/completions",le="+Inf"} 2' in text
    assert "fim_http_inflight_requests 0" in text
    for line in text.splitlines():
        assert line.startswith("#") or len(line.rsplit(" ", 1)) == 2, line


def test_unknown_path_and_method(api):
    assert api.get("/v2/nothing").status_code == 404
    assert api.get("/v1/completions").status_code == 405


def test_only_loopback_without_explicit_host():
    assert check_bind_host("127.0.0.1", explicit=False) == "127.0.0.1"
    assert check_bind_host("::1", explicit=False) == "::1"
    with pytest.raises(ValueError, match="only loopback"):
        check_bind_host("0.0.0.0", explicit=False)
    assert check_bind_host("0.0.0.0", explicit=True) == "0.0.0.0"
