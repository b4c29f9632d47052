"""The completion pipeline behind the server, loaded off the event loop.

The real engine is a diffusion or autoregressive engine over a model folder,
loaded in this process, or with the ``engine`` setting "daemon" a
``RemoteEngine`` that sends fills to the shared model daemon (``fim-server
serve``) and starts it when none runs. For tests only, the environment variable ``FIM_SERVER_LSP_TEST_ENGINE`` selects the scripted
``FakeEngine`` instead, so protocol tests run without weights. Its value is a
JSON object::

    {"text": "fake_completion()",          # default suggestion
     "rules": [{"after": "def add(a, b):\\n    ", "text": "return a + b"},
               {"after": "explode = ", "fail": "engine exploded"}],
                                            # the first rule whose "after" ends the prefix wins;
                                            # "fail" raises RuntimeError with that message
     "steps": 4, "step_seconds": 0.01,      # denoising steps and the sleep in each
     "fail": "engine exploded"}             # raise RuntimeError in every fill

With "daemon", a daemon that the server starts serves the same script
(``fim-server serve --engine fake --fake-script``). The fake never claims model
behaviour; the server logs a warning when it is on.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import replace

from ..config import Settings
from ..pipeline import CompletionPipeline, FillCancelled

log = logging.getLogger("fim_server.lsp.engines")

TEST_ENGINE_VARIABLE = "FIM_SERVER_LSP_TEST_ENGINE"

PipelineLoader = Callable[[str], CompletionPipeline]


class ModelUnavailable(RuntimeError):
    """The model could not be loaded; the message gives the reason and what to change."""


class MeteredEngine:
    """Engine wrapper that counts fills that finished and fills a cancel stopped.

    The counters come from the engine thread itself, so they show whether a
    cancelled request really stopped the model or ran to the end.
    """

    def __init__(self, engine) -> None:
        self.engine = engine
        self.kind = engine.kind
        self.finished = 0
        self.cancelled = 0
        self.busy = False

    def fill(self, prefix: str, suffix: str, **options):
        self.busy = True
        try:
            result = self.engine.fill(prefix, suffix, **options)
        except FillCancelled:
            self.cancelled += 1
            raise
        finally:
            self.busy = False
        self.finished += 1
        return result

    def __getattr__(self, name: str):
        return getattr(self.engine, name)

    def to_json(self) -> dict:
        return {"kind": self.kind, "fills": self.finished, "cancelledFills": self.cancelled, "busy": self.busy}


def fake_loader(spec: str) -> PipelineLoader:
    """Build a loader for the scripted test engine from its JSON description."""
    from ..engine.fake import engine_from_script

    try:
        engine_from_script(spec)
    except ValueError as exc:
        raise ValueError(f"invalid ${TEST_ENGINE_VARIABLE}: {exc}") from None

    def load(model_path: str) -> CompletionPipeline:
        return CompletionPipeline(MeteredEngine(engine_from_script(spec)))

    return load


def diffusion_loader(settings: Settings) -> PipelineLoader:
    def load(model_path: str) -> CompletionPipeline:
        from ..engine.loading import load_engine

        try:
            # A diffusion or an autoregressive engine, whichever model_type the folder holds.
            engine = load_engine(model_path, dtype=settings.dtype, threads=settings.threads or None)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"cannot load the model from {model_path}: {exc}") from exc
        return CompletionPipeline(MeteredEngine(engine), default_effort=settings.effort,
                                  max_lines=settings.max_lines, min_confidence=settings.min_confidence)

    return load


def daemon_loader(settings: Settings, socket: str | None, test_script: str | None = None) -> PipelineLoader:
    """Build a loader that connects to the model daemon on ``socket`` (None: the default), starting it if needed.

    ``test_script`` (tests only) makes a started daemon serve the scripted test
    engine instead of loading the model.
    """

    def load(model_path: str) -> CompletionPipeline:
        from ..daemon import DaemonError, LocationError, RemoteEngine, spawn_args_from_settings

        if test_script:
            spawn_args = ["--engine", "fake", "--fake-script", test_script,
                          "--idle-timeout", str(settings.idle_timeout)]
        else:
            spawn_args = spawn_args_from_settings(replace(settings, model=model_path))
        engine = None
        try:
            engine = RemoteEngine(socket_path=socket, spawn_args=spawn_args)
            if test_script:
                engine.connect()
            else:
                engine.connect(model_path, dtype=settings.dtype, threads=settings.threads)
        except (DaemonError, LocationError, OSError) as exc:
            if engine is not None:
                engine.close()
            raise ModelUnavailable(f"cannot use the model daemon: {exc}") from exc
        return CompletionPipeline(MeteredEngine(engine), default_effort=settings.effort,
                                  max_lines=settings.max_lines, min_confidence=settings.min_confidence)

    return load


def choose_loader(settings: Settings, *, engine: str | None = None, socket: str | None = None,
                  idle_timeout: int | None = None) -> tuple[PipelineLoader, str]:
    """Return (loader, engine kind) for ``engine``, "local" or "daemon" (default: ``settings.engine``).

    ``socket`` and ``idle_timeout`` replace the settings of the same name when
    given. The scripted test engine replaces the model when TEST_ENGINE_VARIABLE
    is set, in this process for "local" and inside the started daemon for "daemon".
    """
    engine = engine or settings.engine
    if idle_timeout is not None:
        settings = replace(settings, idle_timeout=idle_timeout)
    spec = os.environ.get(TEST_ENGINE_VARIABLE)
    if spec:
        log.warning("$%s is set: serving the scripted test engine, not a model", TEST_ENGINE_VARIABLE)
    if engine == "daemon":
        return daemon_loader(settings, socket or settings.socket or None, spec), "daemon"
    if spec:
        return fake_loader(spec), "fake"
    return diffusion_loader(settings), "diffusion"


class PipelineHolder:
    """The current pipeline, loaded in a worker thread; requests wait for the first load."""

    def __init__(self, loader: PipelineLoader) -> None:
        self._loader = loader
        self._current: CompletionPipeline | None = None
        self._waiting: asyncio.Future[CompletionPipeline] | None = None
        self.model_path: str | None = None

    async def load(self, model_path: str, on_replace: Callable[[], None] | None = None,
                   loader: PipelineLoader | None = None) -> CompletionPipeline:
        """Load ``model_path`` (with ``loader``, else the holder's own) and make it current.

        On failure the previous pipeline stays. ``on_replace`` runs after the
        swap and before the previous pipeline closes, so that requests still on
        the old model get their replies first.
        """
        if self._current is None and (self._waiting is None or self._waiting.done()):
            self._waiting = asyncio.get_running_loop().create_future()
        waiting = self._waiting
        try:
            pipeline = await asyncio.to_thread(loader or self._loader, model_path)
        except Exception as exc:
            error = exc if isinstance(exc, ModelUnavailable) else ModelUnavailable(f"{type(exc).__name__}: {exc}")
            if self._current is None and waiting is not None and not waiting.done():
                waiting.set_exception(error)
                waiting.exception()  # retrieved here; ``get`` raises it again for each request
            raise error from exc
        old, self._current, self.model_path = self._current, pipeline, model_path
        if waiting is not None and not waiting.done():
            waiting.set_result(pipeline)
        if old is not None:
            if on_replace is not None:
                on_replace()
            close_pipeline(old)
        return pipeline

    @property
    def current(self) -> CompletionPipeline | None:
        return self._current

    async def get(self) -> CompletionPipeline:
        if self._current is not None:
            return self._current
        if self._waiting is None:
            self._waiting = asyncio.get_running_loop().create_future()  # resolved by the first ``load``
        return await asyncio.shield(self._waiting)

    def close(self) -> None:
        if self._current is not None:
            close_pipeline(self._current)


def close_pipeline(pipeline: CompletionPipeline) -> None:
    """Stop the pipeline's engine thread and close the engine's own resources (a daemon connection)."""
    pipeline.close()
    close_engine = getattr(pipeline.engine, "close", None)
    if close_engine is not None:
        close_engine()


__all__ = ["ModelUnavailable", "PipelineHolder", "TEST_ENGINE_VARIABLE", "choose_loader"]
