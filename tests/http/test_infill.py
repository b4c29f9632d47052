"""POST /infill in llama.cpp's format, as llama.vim and llama.vscode send it."""

import json

import httpx
from http_helpers import running_api

from fim_server.engine.fake import FakeEngine

# llama.vim's FIM request: lines above the cursor in input_prefix, the cursor line's left part in prompt,
# ring-buffer chunks in input_extra and only some response fields requested.
LLAMA_VIM = {
    "id_slot": 0,
    "input_prefix": "def mean(values):\n",
    "input_suffix": "\n    return total / len(values)\n",
    "input_extra": [{"text": "import math\n", "time": 1730000000, "filename": "util.py"}],
    "prompt": "    total = ",
    "n_predict": 128,
    "stop": [],
    "n_indent": 4,
    "top_k": 40,
    "top_p": 0.90,
    "samplers": ["top_k", "top_p", "infill"],
    "stream": False,
    "cache_prompt": True,
    "t_max_prompt_ms": 500,
    "t_max_predict_ms": 1000,
    "response_fields": ["content", "timings/prompt_n", "timings/prompt_ms", "timings/prompt_per_token_ms",
                        "timings/prompt_per_second", "timings/predicted_n", "timings/predicted_ms",
                        "timings/predicted_per_token_ms", "timings/predicted_per_second", "truncated",
                        "tokens_cached"],
}


def test_llama_vim_request(api, fake_engine):
    response = api.post("/infill", json=LLAMA_VIM)
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == set(LLAMA_VIM["response_fields"])
    assert data["content"] == "result_value + 1"
    assert data["timings/predicted_n"] > 0
    assert data["truncated"] is False
    prefix, suffix, _canvas, _effort = fake_engine.calls[0]
    assert prefix == "def mean(values):\n    total = "
    assert suffix.startswith("\n    return total")


def test_llama_vscode_request_with_full_response(api):
    # llama.vscode sends the same fields without response_fields and reads content.
    body = {key: value for key, value in LLAMA_VIM.items() if key != "response_fields"}
    data = api.post("/infill", json=body).json()
    assert data["content"] == "result_value + 1"
    assert data["stop"] is True
    assert set(data["timings"]) >= {"prompt_n", "predicted_n", "predicted_ms"}


def test_warm_up_request_returns_empty_without_model_call(api, fake_engine):
    body = {"input_prefix": "x = 1\n", "input_suffix": "", "input_extra": [], "prompt": "", "n_predict": 0,
            "cache_prompt": True, "t_max_prompt_ms": 1, "t_max_predict_ms": 1}
    data = api.post("/infill", json=body).json()
    assert data["content"] == ""
    assert fake_engine.calls == []


def test_n_indent_ends_at_dedent(fake_engine, api):
    fake_engine.respond = lambda prefix, suffix: "x = 1\n    y = 2\nz = 3"
    body = {"input_prefix": "def f():\n    ", "input_suffix": "\n", "n_indent": 4}
    assert api.post("/infill", json=body).json()["content"] == "x = 1\n    y = 2"


def test_streaming_infill_sends_content_then_stop(api):
    body = {"input_prefix": "a = ", "input_suffix": "\n", "stream": True}
    response = api.post("/infill", json=body)
    events = [json.loads(block[len("data: "):]) for block in response.text.strip().split("\n\n")]
    assert events[0]["stop"] is False
    assert events[0]["content"] == "result_value + 1"
    assert events[-1]["stop"] is True


def test_bad_input_extra_is_a_llama_cpp_error(api):
    response = api.post("/infill", json={"input_prefix": "a", "input_extra": ["not an object"]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400
    assert "input_extra" in error["message"]
    assert error["type"] == "invalid_request_error"


def test_negative_n_predict_below_minus_one_is_rejected(api):
    response = api.post("/infill", json={"input_prefix": "a", "n_predict": -5})
    assert response.status_code == 400
    assert "n_predict" in response.json()["error"]["message"]


def test_comment_policy_field(api, fake_engine):
    body = {"input_prefix": "# multiply ", "input_suffix": "\n", "comments": "none"}
    response = api.post("/infill", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["content"] == ""
    assert fake_engine.calls == []


class BudgetRecordingEngine(FakeEngine):
    """The scripted engine, also recording the denoising budget that each fill received."""

    def __init__(self) -> None:
        super().__init__(lambda prefix, suffix: "result_value + 1")
        self.budgets: list[float | None] = []

    def fill(self, prefix, suffix, *, canvas_tokens, effort="low", should_stop=None):
        self.budgets.append(getattr(should_stop, "budget_ms", None))
        return super().fill(prefix, suffix, canvas_tokens=canvas_tokens, effort=effort, should_stop=should_stop)


def test_predict_time_limit_reaches_engine():
    engine = BudgetRecordingEngine()
    with running_api(engine) as (url, _service):
        for limit in (250, 0, -1):
            body = {"input_prefix": "x = ", "input_suffix": "\n", "t_max_predict_ms": limit}
            assert httpx.post(url + "/infill", json=body, timeout=30).status_code == 200
        assert httpx.post(url + "/infill", json={"input_prefix": "x = "}, timeout=30).status_code == 200
    assert engine.budgets == [250.0, None, None, None]
