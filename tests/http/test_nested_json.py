"""A body that nests JSON too deeply to decode is a client error (400), not a server error."""

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
