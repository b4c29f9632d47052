"""The HTTP API: a Starlette app with every endpoint, served by uvicorn on the daemon's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..engine.batching import DeadlineExceeded, Overloaded
from ..engine.types import FillCancelled
from ..pipeline import RequestError
from . import llamacpp_api, ollama_api, openai_api
from .common import (
    ApiError,
    ClientDisconnected,
    Dialect,
    HttpOptions,
    LlamaCppDialect,
    MistralDialect,
    OllamaDialect,
    LOOPBACK_HOST_NAMES,
    OpenAIDialect,
    SCRIPTED_ENGINE_NAME,
    check_api_key,
    check_host,
)
from .metrics import CONTENT_TYPE, HttpMetrics
from .model_facts import ModelFacts, read_model_facts
from .service import CompletionService

log = logging.getLogger("fim_server.http")

CLIENT_CLOSED_REQUEST = 499  # nginx's code for a client that left; the reply goes nowhere


class HttpApp:
    """Shared state of the endpoints: the completion service, the options, the served model name and the metrics."""

    def __init__(self, service: CompletionService, options: HttpOptions) -> None:
        self.service = service
        self.options = options
        self.scripted = service.engine.kind == "fake"
        # Model name that /v1/models, /api/tags and completion replies report for the serving engine.
        self.model_name = SCRIPTED_ENGINE_NAME if self.scripted else options.model_name
        self.metrics = HttpMetrics()
        self.model_facts: ModelFacts | None = options.model_facts

    async def facts(self) -> ModelFacts:
        """Return the served model's facts, reading the folder in a worker thread the first time."""
        if self.model_facts is None:
            path = None if self.scripted else self.options.model_path
            self.model_facts = await asyncio.to_thread(read_model_facts, path, self.options.model_dtype)
        return self.model_facts


def _error_response(dialect: Dialect, exc: Exception) -> Response:
    if isinstance(exc, ApiError):
        return dialect.error(exc.status, exc.message, exc.headers)
    if isinstance(exc, RequestError):
        return dialect.error(400, str(exc))
    if isinstance(exc, Overloaded):
        return dialect.error(503, str(exc), {"Retry-After": "1"})
    if isinstance(exc, DeadlineExceeded):
        return dialect.error(504, f"completion timed out: {exc}")
    if isinstance(exc, (ClientDisconnected, FillCancelled)):
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    log.error("request failed: %s: %s", type(exc).__name__, exc, exc_info=exc)
    return dialect.error(500, f"internal error: {type(exc).__name__}: {exc}")


def _endpoint(app: HttpApp, path: str, dialect: Dialect, handler, *, public: bool = False):
    async def route(request: Request) -> Response:
        started = time.perf_counter()
        try:
            check_host(request, app.options.allowed_hosts)
            if not public:
                check_api_key(request, app.options.api_key)
            response = await handler(request, app)
        except Exception as exc:  # every failure becomes an error in the caller's API format
            response = _error_response(dialect, exc)
            if isinstance(exc, (ApiError, RequestError)):
                # Without this line the operator never sees rejected requests (wrong host, key, content type or
                # body). The message names what the client has to change.
                log.warning("%s %s rejected with %d: %s", request.method, request.url.path, response.status_code,
                            exc.message if isinstance(exc, ApiError) else exc)
            elif isinstance(exc, (Overloaded, DeadlineExceeded)):
                log.warning("%s %s failed with %d after %.1f s: %s", request.method, request.url.path,
                            response.status_code, time.perf_counter() - started, exc)
            elif isinstance(exc, (ClientDisconnected, FillCancelled)):
                log.info("%s %s: the client closed the connection after %.1f s; its fill was stopped",
                         request.method, request.url.path, time.perf_counter() - started)
        app.metrics.observe(path, response.status_code, time.perf_counter() - started)
        return response

    return route


async def _health(request: Request, app: HttpApp) -> Response:
    """Report what serves completions: the engine kind and its model folder, or the scripted test engine."""
    kind = app.service.engine.kind
    if app.scripted:
        return JSONResponse({"status": "ok", "engine": kind, "model": None, "model_path": None, "scripted": True,
                             "message": "a scripted test engine serves the requests, not a model"})
    return JSONResponse({"status": "ok", "engine": kind, "model": app.options.model_name,
                         "model_path": app.options.model_path, "scripted": False})


async def _metrics(request: Request, app: HttpApp) -> Response:
    text = app.metrics.render(engine=app.service.engine, inflight=app.service.inflight)
    return PlainTextResponse(text, media_type=CONTENT_TYPE)


async def _not_found(request: Request, exc: HTTPException) -> Response:
    return JSONResponse({"error": {"message": f"{request.method} {request.url.path}: {exc.detail}",
                                   "type": "not_found_error" if exc.status_code == 404 else "invalid_request_error",
                                   "code": exc.status_code}}, status_code=exc.status_code)


def create_app(service: CompletionService, options: HttpOptions) -> Starlette:
    app = HttpApp(service, options)
    openai, mistral, llamacpp, ollama = OpenAIDialect(), MistralDialect(), LlamaCppDialect(), OllamaDialect()
    table = [
        ("/v1/completions", openai, openai_api.completions, ["POST"]),
        ("/v1/fim/completions", mistral, openai_api.fim_completions, ["POST"]),
        ("/v1/models", openai, openai_api.models, ["GET"]),
        ("/infill", llamacpp, llamacpp_api.infill, ["POST"]),
        ("/api/generate", ollama, ollama_api.generate, ["POST"]),
        ("/api/show", ollama, ollama_api.show, ["POST"]),
        ("/api/tags", ollama, ollama_api.tags, ["GET"]),
        ("/api/version", ollama, ollama_api.version, ["GET"]),
        ("/metrics", openai, _metrics, ["GET"]),
    ]
    routes = [Route(path, _endpoint(app, path, dialect, handler), methods=methods)
              for path, dialect, handler, methods in table]
    routes.append(Route("/health", _endpoint(app, "/health", llamacpp, _health, public=True), methods=["GET"]))
    starlette = Starlette(routes=routes, exception_handlers={HTTPException: _not_found})
    starlette.state.http = app
    return starlette


# -- serving --------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts_for(bind_host: str) -> tuple[str, ...] | None:
    """Return the Host header names to accept on ``bind_host``: loopback names only, or any (None) elsewhere.

    A non-loopback address is bound only when the user names it with --host,
    and clients then reach it under names this server cannot know.
    """
    return LOOPBACK_HOST_NAMES if is_loopback(bind_host) else None


def check_bind_host(host: str, *, explicit: bool) -> str:
    """Return ``host`` if it is a loopback address or the user requested it explicitly, else raise ValueError."""
    loopback = is_loopback(host)
    if not loopback and not explicit:
        raise ValueError(f"refusing to listen on {host}: only loopback addresses are used unless --host is given")
    if not loopback:
        log.warning("the HTTP API listens on %s, which other machines can reach; protect it with an API key", host)
    return host


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket here so that a port in use is a clear error, not an exit inside uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --http-port") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that runs on an existing event loop and leaves signal handling to its owner."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def make_server(app: Starlette) -> EmbeddedServer:
    config = uvicorn.Config(app, loop="none", http="h11", lifespan="off", log_config=None, access_log=False,
                            timeout_keep_alive=30, ws="none")
    return EmbeddedServer(config)
