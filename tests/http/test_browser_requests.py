"""Requests a web page can make to the local server: simple cross-origin bodies and DNS rebinding."""

import json

import httpx
import pytest

from http_helpers import continuation, running_api
from fim_server.engine.fake import FakeEngine
from fim_server.http import allowed_hosts_for
from fim_server.http.common import LOOPBACK_HOST_NAMES

# Every endpoint that reads a JSON body, with a valid body and a function that extracts the error message
# from a reply in that endpoint's API format.
JSON_ENDPOINTS = [
    ("/v1/completions", {"prompt": "x = "}, lambda data: data["error"]["message"]),
    ("/v1/fim/completions", {"prompt": "x = "}, lambda data: data["message"]),
    ("/infill", {"input_prefix": "x = "}, lambda data: data["error"]["message"]),
    ("/api/generate", {"prompt": "x = ", "stream": False}, lambda data: data["error"]),
    ("/api/show", {"model": "test-model"}, lambda data: data["error"]),
]

# Content types a browser sends cross-origin without a CORS preflight, and a missing header.
SIMPLE_CONTENT_TYPES = ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", None]


def post_raw(client: httpx.Client, path: str, body: dict, content_type: str | None) -> httpx.Response:
    headers = {} if content_type is None else {"Content-Type": content_type}
    return client.post(path, content=json.dumps(body).encode(), headers=headers)


@pytest.mark.parametrize("content_type", SIMPLE_CONTENT_TYPES)
@pytest.mark.parametrize("path, body, message", JSON_ENDPOINTS)
def test_non_json_body_is_rejected(api, fake_engine, path, body, message, content_type):
    response = post_raw(api, path, body, content_type)
    assert response.status_code == 415, response.text
    text = message(response.json())
    assert "Content-Type: application/json" in text
    if content_type is None:
        assert text.startswith("missing Content-Type header")
    else:
        assert text.startswith(f"unsupported Content-Type {content_type!r}")
    assert fake_engine.calls == [], "a rejected body must not reach the model"


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON;charset=\"UTF-8\""])
def test_json_content_types_are_accepted(api, content_type):
    response = post_raw(api, "/v1/completions", {"prompt": "x = "}, content_type)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["text"] == continuation("x = ", "")


def test_non_utf8_charset_is_rejected(api):
    response = post_raw(api, "/v1/completions", {"prompt": "x = "}, "application/json; charset=latin-1")
    assert response.status_code == 415
    assert "JSON bodies must be UTF-8" in response.json()["error"]["message"]


@pytest.mark.parametrize("path, body, message", JSON_ENDPOINTS)
def test_foreign_host_is_rejected(api, fake_engine, path, body, message):
    response = api.post(path, json=body, headers={"Host": "attacker.example:8012"})
    assert response.status_code == 403, response.text
    text = message(response.json())
    assert text.startswith("invalid Host header 'attacker.example:8012'")
    assert "127.0.0.1, localhost, [::1]" in text
    assert fake_engine.calls == []


@pytest.mark.parametrize("path", ["/health", "/v1/models", "/api/tags", "/metrics"])
def test_foreign_host_is_rejected_on_reads(api, path):
    response = api.get(path, headers={"Host": "attacker.example"})
    assert response.status_code == 403
    assert "invalid Host header 'attacker.example'" in response.text


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8012", "localhost", "LocalHost:1", "[::1]", "[::1]:8012"])
def test_loopback_host_names_are_accepted(api, host):
    response = api.post("/v1/completions", json={"prompt": "x = "}, headers={"Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["127.0.0.1.attacker.example", "localhost:80x", "127.0.0.2", "[::1]x"])
def test_lookalike_host_names_are_rejected(api, host):
    response = api.get("/v1/models", headers={"Host": host})
    assert response.status_code == 403


def test_explicit_bind_address_accepts_any_host():
    with running_api(FakeEngine(continuation), allowed_hosts=None) as (url, _service):
        response = httpx.post(url + "/v1/completions", json={"prompt": "x = "},
                              headers={"Host": "workstation.lan:8012"}, timeout=30)
    assert response.status_code == 200, response.text


def test_host_check_follows_bind_address():
    for loopback in ("127.0.0.1", "::1", "localhost", "127.0.0.5"):
        assert allowed_hosts_for(loopback) == LOOPBACK_HOST_NAMES
    for other in ("0.0.0.0", "192.168.1.20", "::"):
        assert allowed_hosts_for(other) is None


def test_rejections_are_counted_in_metrics(api):
    post_raw(api, "/infill", {"input_prefix": "x = "}, "text/plain")
    api.get("/health", headers={"Host": "attacker.example"})
    text = api.get("/metrics").text
    assert 'fim_http_requests_total{endpoint="/infill",status="415"} 1' in text
    assert 'fim_http_requests_total{endpoint="/health",status="403"} 1' in text


def test_rejections_are_logged_with_the_reason(api, caplog):
    caplog.set_level("WARNING", logger="fim_server")
    post_raw(api, "/infill", {"input_prefix": "x = "}, "text/plain")
    api.get("/v1/models", headers={"Host": "attacker.example"})
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("POST /infill rejected with 415: unsupported Content-Type 'text/plain'") for m in messages), messages
    assert any(m.startswith("GET /v1/models rejected with 403: invalid Host header 'attacker.example'") for m in messages), messages
