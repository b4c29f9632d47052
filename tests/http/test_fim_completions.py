"""POST /v1/fim/completions in the hosted FIM shape, as Continue's FIM providers call it."""

from test_openai_completions import sse_events

# Continue's _streamFim body: prompt is the prefix, suffix the text after the cursor, always streaming,
# with both x-api-key and a bearer header.
CONTINUE_FIM = {"model": "codestral-latest", "prompt": "def greet(name):\n    ", "suffix": "\n\ngreet('x')\n",
                "max_tokens": 1024, "temperature": 0.01, "top_p": None, "frequency_penalty": None,
                "presence_penalty": None, "stop": ["[PREFIX]", "[SUFFIX]"], "stream": True}
CONTINUE_HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "x-api-key": "",
                    "Authorization": "Bearer undefined"}


def test_continue_streaming_fim(api, fake_engine):
    response = api.post("/v1/fim/completions", json=CONTINUE_FIM, headers=CONTINUE_HEADERS)
    assert response.status_code == 200
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    assert text == "result_value + 1"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert fake_engine.calls[0][0].endswith("def greet(name):\n    ")


def test_non_streaming_reply_is_chat_shaped(api):
    body = {**CONTINUE_FIM, "stream": False, "min_tokens": 0}
    data = api.post("/v1/fim/completions", json=body).json()
    assert data["object"] == "chat.completion"
    message = data["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "result_value + 1"}
    assert data["usage"]["completion_tokens"] > 0


def test_fim_errors_use_the_hosted_format(api):
    response = api.post("/v1/fim/completions", json={"suffix": "x"})
    assert response.status_code == 400
    data = response.json()
    assert data["object"] == "error"
    assert "missing required field 'prompt'" in data["message"]
    assert data["code"] == 400
