"""Ollama's /api/generate (stream false and true), /api/show and /api/tags, as plugins call them."""

import json

import pytest

from fim_server.http.common import SCRIPTED_ENGINE_NAME


def ndjson(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_continue_fim_with_suffix_streams_ndjson(api, fake_engine):
    # Continue's Ollama provider for FIM models: prompt is the prefix, suffix set, raw, options, keep_alive.
    body = {"model": "qwen2.5-coder:1.5b", "prompt": "items = [", "suffix": "]\n", "raw": True,
            "options": {"temperature": 0.01, "top_p": 1, "num_predict": 256, "stop": ["\n\n"], "num_ctx": 8096},
            "keep_alive": 1800, "stream": True}
    response = api.post("/api/generate", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = ndjson(response.text)
    assert "".join(line["response"] for line in lines) == "result_value + 1"
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    assert lines[-1]["done_reason"] == "stop"
    assert lines[-1]["model"] == "qwen2.5-coder:1.5b"
    assert fake_engine.calls[0][1] == "]\n"


def test_twinny_codellama_template_defaults_to_streaming(api, fake_engine):
    # Twinny sends its own FIM template and no suffix field; stream is true.
    prompt = "<PRE> def add(a, b):\n    return  <SUF>\n\nprint(add(1, 2)) <MID>"
    body = {"model": "codellama:7b-code", "prompt": prompt, "stream": True, "keep_alive": "5m",
            "options": {"temperature": 0.2, "num_predict": 512}}
    lines = ndjson(api.post("/api/generate", json=body).text)
    assert lines[-1]["done"] is True
    prefix, suffix, _canvas, _effort = fake_engine.calls[0]
    assert prefix == "def add(a, b):\n    return "
    assert suffix == "\n\nprint(add(1, 2))"


def test_llm_ls_ollama_backend_non_streaming(api):
    # llm-ls merges request_body (options) and sets prompt, model and stream=false.
    body = {"options": {"temperature": 0.2, "top_p": 0.95}, "model": "starcoder2",
            "prompt": "<fim_prefix>x = <fim_suffix>\n<fim_middle>", "stream": False}
    data = api.post("/api/generate", json=body).json()
    assert data["response"] == "result_value + 1"
    assert data["done"] is True
    assert data["eval_count"] > 0


def test_effort_in_options_or_top_level(api, fake_engine):
    api.post("/api/generate", json={"prompt": "a", "suffix": "", "stream": False, "options": {"effort": "medium"}})
    api.post("/api/generate", json={"prompt": "a", "suffix": "", "stream": False, "effort": "instant"})
    assert [call[3] for call in fake_engine.calls] == ["medium", "instant"]


def test_show_advertises_fim_template(api):
    data = api.post("/api/show", json={"name": "fim-diffusion-small"}).json()
    assert ".Suffix" in data["template"]
    assert "insert" in data["capabilities"]


def test_tags_lists_one_model(api):
    models = api.get("/api/tags").json()["models"]
    # The api fixture serves the scripted engine, which the listing names instead of HttpOptions.model_name.
    assert [model["name"] for model in models] == [SCRIPTED_ENGINE_NAME]


@pytest.mark.parametrize("body, fragment", [
    ({"prompt": 5}, "invalid 'prompt'"),
    ({"prompt": "a", "options": []}, "invalid 'options'"),
    ({"prompt": "a", "options": {"num_predict": "x"}}, "invalid 'num_predict'"),
])
def test_errors_use_ollama_format(api, body, fragment):
    response = api.post("/api/generate", json=body)
    assert response.status_code == 400
    assert fragment in response.json()["error"]


def test_comment_policy_in_options(api, fake_engine):
    body = {"prompt": "# multiply ", "suffix": "\n", "stream": False, "options": {"comments": "none"}}
    response = api.post("/api/generate", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["response"] == ""
    assert fake_engine.calls == []


@pytest.mark.parametrize(("keep_alive", "reason"), [(None, "load"), ("5m", "load"), (0, "unload")])
def test_empty_prompt_loads_without_fill(api, fake_engine, keep_alive, reason):
    body = {"model": "qwen2.5-coder:1.5b", "prompt": ""}
    if keep_alive is not None:
        body["keep_alive"] = keep_alive
    response = api.post("/api/generate", json=body)
    assert response.status_code == 200
    data = response.json()
    assert data["response"] == ""
    assert data["done"] is True
    assert data["done_reason"] == reason
    assert fake_engine.calls == []
