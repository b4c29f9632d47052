"""Ollama-compatible ``POST /api/generate`` (with ``suffix``), ``/api/show``, ``/api/tags`` and ``/api/version``.

``stream`` defaults to true as in Ollama: the reply is newline-delimited JSON
whose last object has ``"done": true``. Twinny and llm-ls send a prompt in a FIM
template instead of ``suffix``; such prompts are split into prefix and suffix.
Continue decides whether a model supports FIM from ``/api/show``: the template
must mention ``.Suffix``.
"""

from __future__ import annotations

import datetime

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
from .fim_prompt import split_fim_prompt
from .service import FimCall, FimOutcome

_encoder = msgspec.json.Encoder()
TEMPLATE = "{{ .Prompt }}<|fim_hole|>{{ .Suffix }}"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def parse_generate(body: dict) -> FimCall:
    prompt = field_str(body, "prompt", "")
    suffix = field_str(body, "suffix")
    if suffix is None:
        split = split_fim_prompt(prompt)
        if split is not None:
            prompt, suffix, _template = split
    options = body.get("options")
    options = {} if options is None else options
    if not isinstance(options, dict):
        raise ApiError(400, "invalid 'options': expected a JSON object")
    num_predict = field_int(options, "num_predict", -1, minimum=-2)  # Ollama: -1 no cap, -2 fill the context
    effort = field_effort(body) or field_effort(options)
    return FimCall(prefix=prompt, suffix=suffix or "", effort=effort,
                   max_tokens=None if num_predict < 0 else num_predict, stop=field_stop(options),
                   policies=field_policies(body, options), min_confidence=field_min_confidence(body, options))


def _final(outcome: FimOutcome, model: str, text: str) -> dict:
    nanos = int(outcome.elapsed_s * 1e9)
    prompt_ns = int((outcome.result.timings_ms.get("fill.encode_context", 0.0) if outcome.result else 0.0) * 1e6)
    return {"model": model, "created_at": _now(), "response": text, "done": True,
            "done_reason": outcome.finish_reason, "context": [], "total_duration": nanos, "load_duration": 0,
            "prompt_eval_count": outcome.prompt_tokens, "prompt_eval_duration": prompt_ns,
            "eval_count": outcome.completion_tokens, "eval_duration": max(0, nanos - prompt_ns)}


def _load_reply(model: str, reason: str) -> dict:
    return {"model": model, "created_at": _now(), "response": "", "done": True, "done_reason": reason}


async def generate(request: Request, app) -> Response:
    body = await read_json_object(request, app.options.max_body_bytes)
    call = parse_generate(body)
    stream = field_bool(body, "stream", True)
    model = field_str(body, "model") or app.model_name
    if not call.prefix and not call.suffix:
        # Ollama clients send an empty prompt to load a model ahead of use, or with keep_alive 0 to unload it.
        # The model here is always resident, so the reply comes at once, without a fill.
        reason = "unload" if body.get("keep_alive") in (0, "0", "0s", "0m") else "load"
        return JSONResponse(_load_reply(model, reason))
    outcome = await until_disconnect(request, app.service.fill_in_middle(call))
    if not stream:
        return JSONResponse(_final(outcome, model, outcome.text))

    async def lines():
        yield _encoder.encode({"model": model, "created_at": _now(), "response": outcome.text, "done": False}) + b"\n"
        yield _encoder.encode(_final(outcome, model, "")) + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


async def show(request: Request, app) -> Response:
    body = await read_json_object(request, app.options.max_body_bytes)
    name = field_str(body, "model") or field_str(body, "name") or app.model_name
    facts = await app.facts()
    return JSONResponse({"modelfile": f"FROM {name}\nTEMPLATE \"\"\"{TEMPLATE}\"\"\"\n", "parameters": "",
                         "template": TEMPLATE, "details": facts.details(), "model_info": facts.model_info,
                         "capabilities": ["completion", "insert"], "modified_at": facts.modified_at or _now()})


async def tags(request: Request, app) -> Response:
    name = app.model_name
    facts = await app.facts()
    return JSONResponse({"models": [{"name": name, "model": name, "modified_at": facts.modified_at or _now(),
                                     "size": facts.size_bytes, "digest": facts.digest, "details": facts.details()}]})


async def version(request: Request, app) -> Response:
    return JSONResponse({"version": "0.0.0-fim-server"})


__all__ = ["generate", "show", "tags", "version"]
