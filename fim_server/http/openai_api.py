"""OpenAI-compatible ``POST /v1/completions`` and the hosted FIM shape ``POST /v1/fim/completions``.

``/v1/completions`` follows the OpenAI legacy completions API: ``prompt`` and
``suffix``; a prompt in another model's FIM template (Continue, llm-ls) is split
into prefix and suffix. ``/v1/fim/completions`` follows Mistral's FIM API, which
Continue also uses for other FIM providers: the reply is chat-completion shaped
(``choices[].message.content``, or ``choices[].delta.content`` when streaming).
Both stream as server-sent events ending with ``data: [DONE]``.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .common import (
    ApiError,
    completion_id,
    field_bool,
    field_effort,
    field_int,
    field_min_confidence,
    field_policies,
    field_stop,
    field_str,
    json_kind,
    read_json_object,
    unix_time,
    until_disconnect,
)
from .fim_prompt import split_fim_prompt
from .service import FimCall, FimOutcome

_encoder = msgspec.json.Encoder()


def _sse(events: list[dict]) -> StreamingResponse:
    async def generate():
        for event in events:
            yield b"data: " + _encoder.encode(event) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return StreamingResponse(generate(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _usage(outcome: FimOutcome) -> dict:
    return {"prompt_tokens": outcome.prompt_tokens, "completion_tokens": outcome.completion_tokens,
            "total_tokens": outcome.prompt_tokens + outcome.completion_tokens}


def _prompt_text(body: dict) -> str:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if isinstance(prompt, list):
        raise ApiError(400, "invalid 'prompt': send one string; token arrays and prompt batches are not supported")
    if prompt is None:
        raise ApiError(400, "missing required field 'prompt' (the text before the cursor)")
    if not isinstance(prompt, str):
        raise ApiError(400, f"invalid 'prompt': expected a string, got {json_kind(prompt)}")
    return prompt


def _common_call(body: dict, prefix: str, suffix: str) -> FimCall:
    if field_int(body, "n", 1) != 1:
        raise ApiError(400, "invalid 'n': only one completion per request is supported (n=1)")
    if field_bool(body, "echo", False):
        raise ApiError(400, "invalid 'echo': echoing the prompt is not supported")
    return FimCall(prefix=prefix, suffix=suffix, effort=field_effort(body),
                   max_tokens=field_int(body, "max_tokens", field_int(body, "max_completion_tokens"), minimum=0),
                   stop=field_stop(body), policies=field_policies(body),
                   min_confidence=field_min_confidence(body))


def parse_completions(body: dict) -> FimCall:
    prompt = _prompt_text(body)
    suffix = field_str(body, "suffix")
    if suffix is None:
        split = split_fim_prompt(prompt)
        if split is not None:
            prompt, suffix, _template = split
    return _common_call(body, prompt, suffix or "")


async def completions(request: Request, app) -> Response:
    body = await read_json_object(request, app.options.max_body_bytes)
    call = parse_completions(body)
    stream = field_bool(body, "stream", False)
    outcome = await until_disconnect(request, app.service.fill_in_middle(call))
    head = {"id": completion_id("cmpl"), "object": "text_completion", "created": unix_time(),
            "model": app.model_name}
    if stream:
        return _sse([
            {**head, "choices": [{"text": outcome.text, "index": 0, "logprobs": None, "finish_reason": None}]},
            {**head, "choices": [{"text": "", "index": 0, "logprobs": None, "finish_reason": outcome.finish_reason}],
             "usage": _usage(outcome)},
        ])
    choice = {"text": outcome.text, "index": 0, "logprobs": None, "finish_reason": outcome.finish_reason}
    return JSONResponse({**head, "choices": [choice], "usage": _usage(outcome)})


def parse_fim(body: dict) -> FimCall:
    prompt = field_str(body, "prompt", required=True)
    suffix = field_str(body, "suffix", "")
    field_int(body, "min_tokens", minimum=0)
    return _common_call(body, prompt, suffix)


async def fim_completions(request: Request, app) -> Response:
    body = await read_json_object(request, app.options.max_body_bytes)
    call = parse_fim(body)
    stream = field_bool(body, "stream", False)
    outcome = await until_disconnect(request, app.service.fill_in_middle(call))
    head = {"id": completion_id("fim"), "created": unix_time(), "model": app.model_name}
    if stream:
        chunk = {**head, "object": "chat.completion.chunk"}
        return _sse([
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": outcome.text},
                                   "finish_reason": None}]},
            {**chunk, "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": outcome.finish_reason}],
             "usage": _usage(outcome)},
        ])
    message = {"role": "assistant", "content": outcome.text}
    choice = {"index": 0, "message": message, "finish_reason": outcome.finish_reason}
    return JSONResponse({**head, "object": "chat.completion", "choices": [choice], "usage": _usage(outcome)})


async def models(request: Request, app) -> Response:
    return JSONResponse({"object": "list", "data": [
        {"id": app.model_name, "object": "model", "created": 0, "owned_by": "fim-server"}]})
