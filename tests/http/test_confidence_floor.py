"""The min_confidence extension field on every completion endpoint, with the scripted engine (confidence 0.9)."""

import logging

import httpx
import pytest

from http_helpers import running_api

from fim_server.engine.fake import FakeEngine

BODIES = {
    "/v1/completions": ({"prompt": "x = ", "suffix": ""}, lambda data: data["choices"][0]["text"]),
    "/v1/fim/completions": ({"prompt": "x = ", "suffix": ""},
                            lambda data: data["choices"][0]["message"]["content"]),
    "/infill": ({"input_prefix": "x = ", "input_suffix": ""}, lambda data: data["content"]),
    "/api/generate": ({"prompt": "x = ", "suffix": "", "stream": False}, lambda data: data["response"]),
}


@pytest.mark.parametrize("path", sorted(BODIES))
def test_floor_hides_weak_completion(api, path):
    body, text_of = BODIES[path]
    assert text_of(api.post(path, json={**body, "min_confidence": 0.95}).json()) == ""
    assert text_of(api.post(path, json={**body, "min_confidence": 0.5}).json()) == "result_value + 1"


def test_hidden_completion_logged(api, caplog):
    body, _text_of = BODIES["/v1/completions"]
    with caplog.at_level(logging.INFO, logger="fim_server.http"):
        api.post("/v1/completions", json={**body, "min_confidence": 0.95})
    assert "empty completion: confidence 0.900 is below min_confidence 0.95" in caplog.text


def test_ollama_reads_floor_from_options(api):
    body, text_of = BODIES["/api/generate"]
    assert text_of(api.post("/api/generate", json={**body, "options": {"min_confidence": 0.95}}).json()) == ""


@pytest.mark.parametrize("value", [1.5, -0.2, "high", True])
@pytest.mark.parametrize("path", sorted(BODIES))
def test_invalid_floor_is_rejected(api, path, value):
    body, _text_of = BODIES[path]
    response = api.post(path, json={**body, "min_confidence": value})
    assert response.status_code == 400
    assert "invalid 'min_confidence'" in response.text


def test_server_floor_applies_without_field():
    engine = FakeEngine(lambda prefix, suffix: "result_value + 1")
    with running_api(engine, min_confidence=0.95) as (url, _service):
        with_server_floor = httpx.post(url + "/infill", json={"input_prefix": "x = "}, timeout=30).json()
        zero = {"input_prefix": "x = ", "min_confidence": 0}
        with_zero_floor = httpx.post(url + "/infill", json=zero, timeout=30).json()
    assert with_server_floor["content"] == ""
    assert with_zero_floor["content"] == "result_value + 1"
