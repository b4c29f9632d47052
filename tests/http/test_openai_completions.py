"""POST /v1/completions as the OpenAI SDK, Continue and llm-ls send it."""

import json

import pytest

from fim_server.http.common import SCRIPTED_ENGINE_NAME

# What the OpenAI Python SDK sends for client.completions.create(model=..., prompt=..., suffix=..., max_tokens=...):
# the JSON body plus its bearer and x-stainless headers.
OPENAI_SDK_HEADERS = {
    "Authorization": "Bearer sk-local",
    "User-Agent": "OpenAI/Python 1.99.0",
    "X-Stainless-Lang": "python",
    "X-Stainless-Package-Version": "1.99.0",
    "Content-Type": "application/json",
}


def sse_events(text: str) -> list:
    """Decode a server-sent-event body into its JSON payloads; the final [DONE] marker stays a string."""
    events = []
    for block in text.strip().split("\n\n"):
        assert block.startswith("data: "), block
        payload = block[len("data: "):]
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def test_openai_sdk_prompt_and_suffix(api, fake_engine):
    body = {"model": "fim-diffusion-small", "prompt": "def area(r):\n    return ", "suffix": "\n\nprint(area(2))\n",
            "max_tokens": 64, "temperature": 0.2, "top_p": 1, "n": 1, "stream": False, "logprobs": None,
            "stop": ["\n\n"]}
    response = api.post("/v1/completions", json=body, headers=OPENAI_SDK_HEADERS)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["object"] == "text_completion"
    assert data["id"].startswith("cmpl-")
    assert data["choices"][0]["text"] == "result_value + 1"
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"]
    prefix, suffix, _canvas, effort = fake_engine.calls[0]
    assert prefix.endswith("return ")
    assert suffix.startswith("\n\nprint(area(2))")
    assert effort == "low"


def test_continue_streams_template_prompt(api, fake_engine):
    # Continue's OpenAI provider without FIM support renders its own template and streams /completions.
    body = {"model": "starcoder2:3b", "prompt": "<fim_prefix>total = 0\nfor x in xs:\n    <fim_suffix>\nprint(total)"
            "<fim_middle>", "max_tokens": 256, "temperature": 0.01, "stop": ["<fim_prefix>", "<file_sep>"],
            "stream": True}
    response = api.post("/v1/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    text = "".join(event["choices"][0]["text"] for event in events[:-1])
    assert text == "result_value + 1"
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    prefix, suffix, _canvas, _effort = fake_engine.calls[0]
    assert prefix == "total = 0\nfor x in xs:\n    "
    assert suffix == "\nprint(total)"


def test_llm_ls_openai_backend(api):
    # llm-ls (llm.nvim's backend "openai") merges request_body, then sets prompt, model and stream=false.
    body = {"parameters": {"max_new_tokens": 60, "temperature": 0.2, "top_p": 0.95}, "model": "bigcode/starcoder",
            "prompt": "<fim_prefix>import os\n<fim_suffix>\n<fim_middle>", "stream": False}
    response = api.post("/v1/completions", json=body)
    assert response.status_code == 200
    assert response.json()["choices"][0]["text"] == "result_value + 1"


def test_max_tokens_cuts_and_reports_length(api):
    response = api.post("/v1/completions", json={"prompt": "value = ", "suffix": "\n", "max_tokens": 2})
    choice = response.json()["choices"][0]
    assert choice["text"] == "result_value +"
    assert choice["finish_reason"] == "length"


def test_effort_field_reaches_engine(api, fake_engine):
    response = api.post("/v1/completions", json={"prompt": "x = ", "effort": "high"})
    assert response.status_code == 200
    assert fake_engine.calls[0][3] == "high"


@pytest.mark.parametrize("body, fragment", [
    ({"prompt": [1, 2, 3]}, "token arrays"),
    ({"prompt": ["a", "b"]}, "token arrays"),
    ({"suffix": "x"}, "missing required field 'prompt'"),
    ({"prompt": "x", "n": 2}, "only one completion"),
    ({"prompt": "x", "max_tokens": "ten"}, "invalid 'max_tokens'"),
    ({"prompt": "x", "stop": [1]}, "invalid 'stop'"),
    ({"prompt": "x", "effort": "extreme"}, "invalid 'effort'"),
    ({"prompt": "x", "stream": "yes"}, "invalid 'stream'"),
])
def test_malformed_requests_get_openai_errors(api, body, fragment):
    response = api.post("/v1/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert fragment in error["message"]
    assert error["type"] == "invalid_request_error"


def test_invalid_json_and_non_object_bodies(api):
    broken = api.post("/v1/completions", content=b'{"prompt": "x"', headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert "not valid JSON" in broken.json()["error"]["message"]
    listed = api.post("/v1/completions", json=["prompt"])
    assert listed.status_code == 400
    assert "JSON object" in listed.json()["error"]["message"]
    empty = api.post("/v1/completions", content=b"", headers={"Content-Type": "application/json"})
    assert empty.status_code == 400


def test_models_lists_the_served_model(api):
    data = api.get("/v1/models").json()
    assert data["object"] == "list"
    # The api fixture serves the scripted engine, which the listing names instead of HttpOptions.model_name.
    assert [model["id"] for model in data["data"]] == [SCRIPTED_ENGINE_NAME]


def test_comment_policy_fields(api, fake_engine):
    body = {"prompt": "def area(r):\n    # multiply ", "suffix": "\n    return r\n"}
    skipped = api.post("/v1/completions", json={**body, "comments": "none"})
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["choices"][0]["text"] == ""
    assert fake_engine.calls == []
    answered = api.post("/v1/completions", json={**body, "comments": "line", "strings": "none"})
    assert answered.json()["choices"][0]["text"] == "result_value + 1"
    assert fake_engine.calls[0][2] == 16  # a one-line canvas


def test_invalid_comment_policy(api):
    response = api.post("/v1/completions", json={"prompt": "x = ", "comments": "off"})
    assert response.status_code == 400
    assert "invalid 'comments' \"off\": use one of complete, line, none" in response.json()["error"]["message"]
