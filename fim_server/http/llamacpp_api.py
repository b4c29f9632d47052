"""llama.cpp-compatible ``POST /infill``, as llama.vim and llama.vscode call it.

The prefix is ``input_prefix`` followed by ``prompt`` (llama.vim puts the
cursor line's text there), the suffix is ``input_suffix``. ``n_predict`` caps
the tokens (0 returns at once, which llama.vim uses to warm a cache; -1 means no
cap), ``stop`` and ``n_indent`` end the text early, and ``response_fields``
selects fields by path ("timings/predicted_ms") as llama.cpp does.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .common import (
    ApiError,
    field_bool,
    field_effort,
    field_int,
    field_min_confidence,
    field_policies,
    field_stop,
    field_str,
    read_json_object,
    until_disconnect,
)
from .service import FimCall, FimOutcome

_encoder = msgspec.json.Encoder()


def _check_extra(body: dict) -> None:
    extra = body.get("input_extra")
    if extra is None:
        return
    if not isinstance(extra, list) or not all(
        isinstance(item, dict) and isinstance(item.get("text", ""), str) and isinstance(item.get("filename", ""), str)
        for item in extra
    ):
        raise ApiError(400, "invalid 'input_extra': expected a list of {\"filename\": string, \"text\": string}")


def parse_infill(body: dict) -> FimCall:
    prefix = field_str(body, "input_prefix", "") + field_str(body, "prompt", "")
    _check_extra(body)
    # NOTE: input_extra (chunks of other files) is validated but not given to the model, whose window has no slot
    # for cross-file context. t_max_prompt_ms is ignored: the context encode is not cut short.
    n_predict = field_int(body, "n_predict", -1, minimum=-1)
    # t_max_predict_ms bounds the denoising steps, as the effort's own time budget does; 0 or less means none.
    predict_ms = field_int(body, "t_max_predict_ms", -1, minimum=None)
    return FimCall(prefix=prefix, suffix=field_str(body, "input_suffix", ""), effort=field_effort(body),
                   max_tokens=None if n_predict == -1 else n_predict, stop=field_stop(body),
                   min_indent=field_int(body, "n_indent", 0, minimum=0), policies=field_policies(body),
                   min_confidence=field_min_confidence(body), budget_ms=predict_ms if predict_ms > 0 else None)


def _response(outcome: FimOutcome, model: str) -> dict:
    predicted_ms = outcome.elapsed_s * 1000
    result = outcome.result
    limited = outcome.finish_reason == "length"
    timings = {
        "prompt_n": outcome.prompt_tokens, "prompt_ms": (result.timings_ms.get("fill.encode_context", 0.0)
                                                         if result else 0.0),
        "predicted_n": outcome.completion_tokens, "predicted_ms": predicted_ms,
    }
    timings["prompt_per_token_ms"] = timings["prompt_ms"] / max(1, outcome.prompt_tokens)
    timings["prompt_per_second"] = outcome.prompt_tokens / max(timings["prompt_ms"] / 1000, 1e-9)
    timings["predicted_per_token_ms"] = predicted_ms / max(1, outcome.completion_tokens)
    timings["predicted_per_second"] = outcome.completion_tokens / max(outcome.elapsed_s, 1e-9)
    return {
        "content": outcome.text, "model": model, "stop": True, "stop_type": "limit" if limited else "eos",
        "stopping_word": "", "tokens_predicted": outcome.completion_tokens, "tokens_evaluated": outcome.prompt_tokens,
        "tokens_cached": 0, "truncated": False, "has_new_line": "\n" in outcome.text, "timings": timings,
        "effort": result.effort if result else None, "model_steps": result.model_steps if result else 0,
    }


def select_fields(response: dict, paths: list[str]) -> dict:
    """Keep only ``paths`` ("a" or "a/b"), keyed by the path itself, as llama.cpp's response_fields does."""
    selected = {}
    for path in paths:
        value = response
        for part in path.split("/"):
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            selected[path] = value
    return selected


async def infill(request: Request, app) -> Response:
    body = await read_json_object(request, app.options.max_body_bytes)
    call = parse_infill(body)
    stream = field_bool(body, "stream", False)
    fields = body.get("response_fields")
    if fields is not None and not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
        raise ApiError(400, "invalid 'response_fields': expected a list of strings")
    outcome = await until_disconnect(request, app.service.fill_in_middle(call))
    response = _response(outcome, app.model_name)
    if fields:
        response = select_fields(response, fields)
    if not stream:
        return JSONResponse(response)

    async def events():
        yield b"data: " + _encoder.encode({"content": outcome.text, "stop": False}) + b"\n\n"
        yield b"data: " + _encoder.encode({**response, "content": ""}) + b"\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
