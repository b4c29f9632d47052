"""Request parsing, limits, authentication and error shapes shared by the HTTP endpoints.

Each API family answers errors in its own format (``Dialect``), so a plugin's
own error handling shows the message to the user.
"""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from dataclasses import dataclass

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from ..quoting import json_value
from .model_facts import ModelFacts

_decoder = msgspec.json.Decoder()

JSON_MEDIA_TYPE = "application/json"
# Host header names (with any port) that a server bound to a loopback address accepts. A web page
# that rebinds its own DNS name to 127.0.0.1 still sends that name, so the server rejects it with 403.
LOOPBACK_HOST_NAMES = ("127.0.0.1", "localhost", "[::1]")
# Model name that model listings and completion replies report while the scripted test engine serves.
SCRIPTED_ENGINE_NAME = "scripted-test-engine"


class ApiError(Exception):
    """An HTTP error with a status code; the endpoint's dialect renders it."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class ClientDisconnected(Exception):
    """The client closed the connection before the completion finished."""


@dataclass(frozen=True, kw_only=True)
class HttpOptions:
    # Model name reported by model listings and completion replies. The scripted test engine is always
    # reported as SCRIPTED_ENGINE_NAME instead.
    model_name: str = "fim-diffusion-small"
    model_path: str | None = None  # folder of the served model, or None for the scripted engine
    model_dtype: str | None = None  # dtype the served weights run in ("bfloat16" or "float32")
    # Facts for Ollama's /api/show and /api/tags, read when the model loaded. None reads them on first use.
    model_facts: ModelFacts | None = None
    api_key: str | None = None
    max_body_bytes: int = 4 * 1024 * 1024
    # Host header names accepted with any port. None accepts every Host, which a non-loopback bind address needs.
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOST_NAMES


def _error_type(status: int) -> str:
    return {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
            404: "not_found_error", 413: "invalid_request_error", 415: "invalid_request_error",
            503: "unavailable_error", 504: "timeout_error"}.get(status, "server_error")


class Dialect:
    """Error format of one API family."""

    def error_body(self, status: int, message: str) -> dict:
        raise NotImplementedError

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.error_body(status, message), status_code=status, headers=headers)


class OpenAIDialect(Dialect):
    def error_body(self, status: int, message: str) -> dict:
        return {"error": {"message": message, "type": _error_type(status), "param": None, "code": None}}


class MistralDialect(Dialect):
    def error_body(self, status: int, message: str) -> dict:
        return {"object": "error", "message": message, "type": _error_type(status), "param": None, "code": status}


class LlamaCppDialect(Dialect):
    def error_body(self, status: int, message: str) -> dict:
        return {"error": {"code": status, "message": message, "type": _error_type(status)}}


class OllamaDialect(Dialect):
    def error_body(self, status: int, message: str) -> dict:
        return {"error": message}


def check_api_key(request: Request, api_key: str | None) -> None:
    """Accept ``Authorization: Bearer KEY`` or ``x-api-key: KEY`` when a key is configured."""
    if not api_key:
        return
    header = request.headers.get("authorization", "")
    offered = header[7:].strip() if header[:7].lower() == "bearer " else request.headers.get("x-api-key", "")
    if not offered or not hmac.compare_digest(offered.encode(), api_key.encode()):
        raise ApiError(401, "invalid or missing API key: send 'Authorization: Bearer <key>'")


def _host_name(header: str) -> str | None:
    """Return the lower-case name of a Host header value without its port, or None when it is malformed."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]") + 1
        name, rest = (header[:end], header[end:]) if end else (header, "")
    else:
        name, colon, port = header.partition(":")
        rest = colon + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit()):
        return None
    return name


def check_host(request: Request, allowed: tuple[str, ...] | None) -> None:
    """Reject a Host header outside ``allowed`` with 403, which blocks web pages that use DNS rebinding."""
    if allowed is None:
        return
    header = request.headers.get("host")
    if header is not None and _host_name(header) in allowed:
        return
    problem = "missing Host header" if header is None else f"invalid Host header {header!r}"
    raise ApiError(403, f"{problem}: this server listens on a loopback address and accepts only the host names "
                        f"{', '.join(allowed)}, with any port. To serve another name, start the server with --host")


def check_content_type(request: Request) -> None:
    """Reject a body that is not declared as UTF-8 ``application/json`` (415).

    Browsers send ``text/plain`` and form bodies to any origin without a CORS
    preflight, so accepting them would let any web page run completions here.
    llama.vim, llama.vscode, Continue, Twinny and llm-ls send ``application/json``.
    """
    header = request.headers.get("content-type")
    fix = f"send the JSON body with the header 'Content-Type: {JSON_MEDIA_TYPE}'"
    if header is None:
        raise ApiError(415, f"missing Content-Type header: {fix}")
    media_type, *parameters = header.split(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        raise ApiError(415, f"unsupported Content-Type {header!r}: {fix}")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise ApiError(415, f"unsupported charset in Content-Type {header!r}: JSON bodies must be UTF-8, so "
                                f"send 'Content-Type: {JSON_MEDIA_TYPE}; charset=utf-8'")


async def read_json_object(request: Request, max_bytes: int) -> dict:
    """Read and decode the body as a JSON object.

    Raises ApiError: 415 for a body not declared as ``application/json``, 413
    for a body over ``max_bytes``, 400 for anything but a JSON object.
    """
    check_content_type(request)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, f"request body of {declared} bytes exceeds the limit of {max_bytes} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise ApiError(413, f"request body exceeds the limit of {max_bytes} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientDisconnected() from None  # the client closed the connection while sending the body
    body = b"".join(chunks)
    if not body.strip():
        raise ApiError(400, "missing request body: send a JSON object")
    try:
        data = _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"request body is not valid UTF-8 ({exc.reason} at byte {exc.start}): "
                            "send JSON encoded as UTF-8") from None
    except RecursionError:
        raise ApiError(400, "request body nests JSON arrays or objects too deeply to decode") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"request body must be a JSON object, not {json_kind(data)}")
    return data


def json_kind(value) -> str:
    """Return the JSON name of a decoded value's type, for error messages."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def field_str(body: dict, name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, f"missing required field '{name}' (a string)")
        return default
    if not isinstance(value, str):
        raise ApiError(400, f"invalid '{name}': expected a string, got {json_kind(value)}")
    return value


def field_int(body: dict, name: str, default: int | None = None, *, minimum: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"invalid '{name}': expected a whole number, got {json_value(value)}")
    if minimum is not None and value < minimum:
        raise ApiError(400, f"invalid '{name}': {value} is below the minimum {minimum}")
    return value


def field_bool(body: dict, name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError(400, f"invalid '{name}': expected true or false, got {json_value(value)}")
    return value


def field_stop(body: dict, name: str = "stop") -> list[str]:
    """A stop string or a list of stop strings."""
    value = body.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ApiError(400, f"invalid '{name}': expected a string or a list of strings")


def field_effort(body: dict) -> str | None:
    from ..engine.types import EFFORTS

    effort = field_str(body, "effort")
    if effort is not None and effort not in EFFORTS:
        raise ApiError(400, f"invalid 'effort' {json_value(effort)}: use one of {', '.join(EFFORTS)}")
    return effort


def field_min_confidence(*sources: dict) -> float | None:
    """Read the ``min_confidence`` extension field (0 to 1) from the first source that has it."""
    from ..engine.types import confidence_floor_problem

    for source in sources:
        value = source.get("min_confidence")
        if value is None:
            continue
        problem = confidence_floor_problem(value)
        if problem:
            raise ApiError(400, f"invalid 'min_confidence' {json_value(value)}: {problem}")
        return float(value)
    return None


def field_policies(*sources: dict) -> dict[str, str]:
    """Read the ``comments`` and ``strings`` extension fields, each from the first source that has it.

    They set what a cursor inside a comment or a string gets: "complete",
    "line" or "none". The result maps only the fields that were sent.
    """
    from ..context.mode import POLICIES

    found: dict[str, str] = {}
    for name in ("comments", "strings"):
        for source in sources:
            value = field_str(source, name)
            if value is None:
                continue
            if value not in POLICIES:
                raise ApiError(400, f"invalid '{name}' {json_value(value)}: use one of {', '.join(POLICIES)}")
            found[name] = value
            break
    return found


async def until_disconnect(request: Request, work):
    """Await ``work``; if the client disconnects first, cancel it and raise ClientDisconnected."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_wait_for_disconnect(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if task in done:
        return task.result()
    task.cancel()
    raise ClientDisconnected()


async def _wait_for_disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def completion_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def unix_time() -> int:
    return int(time.time())
