"""``fim-server serve``: load the model once, then serve the Unix socket and, optionally, the HTTP API.

Both front ends share one engine. For a diffusion model with the cached
attention layout it is a ``BatchedEngine``, so requests from editors on the
socket and from plugins over HTTP are batched together. Other model folders
(autoregressive, or diffusion with bidirectional attention) are served through
the same protocol, one fill at a time. The process runs on a
uvloop event loop and stops on SIGTERM/SIGINT, on a ``shutdown`` message, or
after the idle timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

from ..arguments import positive_float, positive_int, tcp_port
from .locations import LocationError, check_socket_path, default_socket_path

log = logging.getLogger("fim_server.daemon.service")


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    from ..config import Settings

    parser.add_argument("--socket", help="Unix socket path (default: $XDG_RUNTIME_DIR/fim-server/daemon.sock, "
                                         "else a private folder in the temp directory)")
    parser.add_argument("--idle-timeout", type=int, default=None,
                        help="whole seconds without requests before the daemon exits, or 0 to never exit (default: the "
                             f"idle_timeout setting, {Settings().idle_timeout} unless set, or 0 with --http-port)")
    parser.add_argument("--stop", action="store_true", help="ask the daemon on --socket to shut down, then exit")
    parser.add_argument("--http-port", type=tcp_port, help="also serve the HTTP API on this TCP port")
    parser.add_argument("--host", help="HTTP listen address (default 127.0.0.1); any other address must be "
                                       "given here explicitly")
    parser.add_argument("--api-key-file", help="file whose first line is the API key that HTTP clients must send "
                                               "(default: $FIM_SERVER_API_KEY, else no key)")
    parser.add_argument("--request-timeout", type=positive_float, default=30.0,
                        help="seconds an HTTP completion may take before it fails with a timeout (default 30)")
    parser.add_argument("--max-body-bytes", type=positive_int, default=4 * 1024 * 1024,
                        help="largest HTTP request body in bytes (default 4 MiB)")
    parser.add_argument("--max-batch", type=positive_int, default=16,
                        help="canvas rows denoised together in one model call (default 16)")
    parser.add_argument("--max-queue", type=positive_int, default=64,
                        help="requests waiting for a batch row before new ones are rejected (default 64)")
    parser.add_argument("--no-batching", action="store_true", help="denoise one request at a time")
    parser.add_argument("--context-slots", type=positive_int, default=32,
                        help="encoded contexts kept for reuse while editors type; one per editor (default 32)")
    parser.add_argument("--engine", choices=["diffusion", "fake"], default="diffusion",
                        help="fake: a scripted engine without weights, for testing front ends")
    parser.add_argument("--fake-step-seconds", type=float, default=0.0,
                        help="with --engine fake: seconds each of its 4 steps sleeps")
    parser.add_argument("--fake-script",
                        help="with --engine fake, for tests only: a JSON script of suggestions, steps and "
                             "failures (the format of $FIM_SERVER_LSP_TEST_ENGINE); replaces --fake-step-seconds")


def read_api_key(path: str | None) -> str | None:
    if path:
        try:
            text = Path(path).read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the API key file {path}: {exc.strerror}") from None
        key = text.splitlines()[0].strip() if text else ""
        if not key:
            raise ValueError(f"the API key file {path} is empty; write the key on its first line")
        return key
    return os.environ.get("FIM_SERVER_API_KEY") or None


def build_engine(args, load_settings):
    """Return (engine for fills, settings) for ``args.engine``."""
    if args.engine == "fake":
        return build_fake_engine(args, load_settings)
    from ..engine.batching import BatchedEngine
    from ..engine.dtypes import resolve_dtype
    from ..engine.loading import load_engine

    settings = load_settings(args)
    # The concrete dtype, so that clients, /api/show and the logs name what actually runs.
    settings = replace(settings, dtype=resolve_dtype(settings.dtype))
    model = load_engine(settings.model, dtype=settings.dtype, threads=settings.threads or None)
    if not can_batch(model):
        log.info("serving %s (%s engine) one fill at a time: batching needs a diffusion model with the cached "
                 "attention layout", settings.model, model.kind)
        return model, settings
    engine = BatchedEngine(model, max_batch_rows=args.max_batch, max_queue=args.max_queue,
                           batching=not args.no_batching, context_slots=args.context_slots)
    return engine, settings


def can_batch(model) -> bool:
    """Return whether ``BatchedEngine`` can serve ``model``: a diffusion model whose context cache is exact."""
    return model.kind == "diffusion" and getattr(model.config, "attention_layout", None) == "cached"


def build_fake_engine(args, load_settings):
    """Return (scripted test engine, settings); raises ValueError for an invalid --fake-script or setting.

    The settings apply as with a model (idle timeout, effort, floor), so tests of those paths can use this engine.
    """
    from ..engine.fake import FakeEngine, engine_from_script

    settings = load_settings(args)
    log.warning("serving the scripted test engine, not a model")
    if not args.fake_script:
        return FakeEngine(step_seconds=args.fake_step_seconds), settings
    try:
        return engine_from_script(args.fake_script), settings
    except ValueError as exc:
        raise ValueError(f"invalid --fake-script: {exc}") from None


def bind_http(args):
    """Return (host, listening socket) for ``--http-port``, bound before the model loads so a busy port fails fast."""
    from ..http import bind_socket, check_bind_host

    host = check_bind_host(args.host or "127.0.0.1", explicit=args.host is not None)
    return host, bind_socket(host, args.http_port)


def build_http(args, engine, settings, daemon, bound):
    from ..http import CompletionService, HttpOptions, allowed_hosts_for, create_app, make_server
    from ..http.model_facts import read_model_facts
    from ..pipeline import CompletionPipeline

    host, sock = bound
    pipeline = CompletionPipeline(engine, default_effort=settings.effort, max_lines=settings.max_lines,
                                  min_confidence=settings.min_confidence)
    service = CompletionService(pipeline, request_timeout=args.request_timeout, on_activity=daemon.touch)
    daemon.outside_requests = lambda: service.inflight
    model_path = None if args.engine == "fake" else str(settings.model)
    # Read now, right after the model loaded, so that the digest names the weights being served.
    model_facts = read_model_facts(model_path, settings.dtype)
    options = HttpOptions(model_name=Path(settings.model).name,
                          model_path=model_path,
                          model_dtype=settings.dtype, model_facts=model_facts,
                          api_key=read_api_key(args.api_key_file),
                          max_body_bytes=args.max_body_bytes, allowed_hosts=allowed_hosts_for(host))
    log.info("HTTP API on http://%s:%d (API key %s)", host, sock.getsockname()[1],
             "required" if options.api_key else "not required")
    return make_server(create_app(service, options)), sock, service


async def serve(args, engine, settings, socket_path: Path, bound_http=None) -> str:
    from .server import DaemonServer

    idle = args.idle_timeout
    if idle is None:
        # HTTP clients cannot restart a daemon that exited, so one serving HTTP stays up unless --idle-timeout is given.
        idle = 0.0 if args.http_port is not None else float(settings.idle_timeout)
    scripted = args.engine == "fake"
    daemon = DaemonServer(engine, socket_path=socket_path, idle_timeout=idle,
                          model=None if scripted else str(settings.model),
                          dtype=None if scripted else settings.dtype, threads=None if scripted else settings.threads)
    http = build_http(args, engine, settings, daemon, bound_http) if bound_http is not None else None
    await daemon.start()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, daemon.stop, f"signal {signal.Signals(number).name}")
    http_task = None
    if http is not None:
        server, sock, _service = http
        http_task = asyncio.create_task(server.serve(sockets=[sock]))
        http_task.add_done_callback(lambda task: daemon.stop("the HTTP server stopped"))
    reason = await daemon.run()
    if http_task is not None:
        http[0].should_exit = True
        await asyncio.wait({http_task}, timeout=10)
        http[2].close()
    return reason


def stop_running(socket_path: Path) -> int:
    from .client import DaemonClient, DaemonError

    try:
        DaemonClient(socket_path, autostart=False).shutdown()
    except DaemonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"asked the daemon on {socket_path} to shut down", file=sys.stderr)
    return 0


def run_service(args, load_settings) -> int:
    """Entry point of ``fim-server serve``; ``load_settings(args)`` returns validated Settings."""
    import uvloop

    from ..config import idle_timeout_problem
    from .server import DaemonAlreadyRunning

    problem = None if args.idle_timeout is None else idle_timeout_problem(args.idle_timeout)
    if problem:
        print(f"error: invalid --idle-timeout {args.idle_timeout!r}: {problem}", file=sys.stderr)
        return 2
    try:
        socket_path = check_socket_path(Path(args.socket)) if args.socket else default_socket_path()
    except LocationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.stop:
        return stop_running(socket_path)
    try:
        bound_http = bind_http(args) if args.http_port is not None else None
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        engine, settings = build_engine(args, load_settings)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if bound_http is not None:
            bound_http[1].close()
        return 2
    try:
        uvloop.run(serve(args, engine, settings, socket_path, bound_http))
    except (DaemonAlreadyRunning, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        close = getattr(engine, "close", None)
        if close is not None:
            close()
    return 0
