"""Bodies that do not decode as a JSON object (too deeply nested, not UTF-8, another JSON type) get 400."""

import httpx
import pytest

ENDPOINTS = [
    ("/v1/completions", lambda data: data["error"]["message"]),
    ("/v1/fim/completions", lambda data: data["message"]),
    ("/infill", lambda data: data["error"]["message"]),
    ("/api/generate", lambda data: data["error"]),
]


@pytest.mark.parametrize("path, message", ENDPOINTS)
def test_deeply_nested_body_is_rejected(api: httpx.Client, path, message):
    depth = 100_000
    body = b"[" * depth + b"]" * depth
    response = api.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "nests JSON arrays or objects too deeply" in message(response.json())
    assert api.post(path, json={"prompt": "x = ", "input_prefix": "x = ", "stream": False}).status_code == 200


@pytest.mark.parametrize("path, message", ENDPOINTS)
def test_non_utf8_body_is_rejected(api: httpx.Client, path, message):
    body = b'{"prompt": "caf\xe9", "input_prefix": "caf\xe9", "stream": false}'
    response = api.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "request body is not valid UTF-8" in message(response.json())


@pytest.mark.parametrize("path, message", ENDPOINTS)
def test_non_object_body_names_json_type(api: httpx.Client, path, message):
    response = api.post(path, content=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "must be a JSON object, not an array" in message(response.json())
