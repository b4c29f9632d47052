"""The completion pipeline behind the server, loaded off the event loop.

The real engine is a diffusion or autoregressive engine over a model folder. For tests only, the
environment variable ``FIM_SERVER_LSP_TEST_ENGINE`` selects the scripted
``FakeEngine`` instead, so protocol tests run without weights. Its value is a
JSON object::

    {"text": "fake_completion()",          # default suggestion
     "rules": [{"after": "def add(a, b):\\n    ", "text": "return a + b"},
               {"after": "explode = ", "fail": "engine exploded"}],
                                            # the first rule whose "after" ends the prefix wins;
                                            # "fail" raises RuntimeError with that message
     "steps": 4, "step_seconds": 0.01,      # denoising steps and the sleep in each
     "fail": "engine exploded"}             # raise RuntimeError in every fill

The fake never claims model behaviour; the server logs a warning when it is on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable

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


def _scripted_responder(script: dict) -> Callable[[str, str], str]:
    default = script.get("text", "fake_completion()")
    rules = script.get("rules", [])

    def respond(prefix: str, suffix: str) -> str:
        for rule in rules:
            if not prefix.endswith(rule["after"]):
                continue
            if rule.get("fail"):
                raise RuntimeError(rule["fail"])
            return rule["text"]
        return default

    return respond


def fake_loader(spec: str) -> PipelineLoader:
    """Build a loader for the scripted test engine from its JSON description."""
    from ..engine.fake import FakeEngine

    try:
        script = json.loads(spec)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid ${TEST_ENGINE_VARIABLE}: not JSON ({exc})") from None
    if not isinstance(script, dict):
        raise ValueError(f"invalid ${TEST_ENGINE_VARIABLE}: expected a JSON object")
    failure = RuntimeError(script["fail"]) if script.get("fail") else None

    def load(model_path: str) -> CompletionPipeline:
        engine = FakeEngine(_scripted_responder(script), steps=int(script.get("steps", 4)),
                            step_seconds=float(script.get("step_seconds", 0.0)), fail_with=failure)
        return CompletionPipeline(MeteredEngine(engine))

    return load


def diffusion_loader(settings: Settings) -> PipelineLoader:
    def load(model_path: str) -> CompletionPipeline:
        from ..engine.loading import load_engine

        try:
            # A diffusion or an autoregressive engine, whichever model_type the folder holds.
            engine = load_engine(model_path, dtype=settings.dtype, threads=settings.threads or None)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"cannot load the model from {model_path}: {exc}") from exc
        return CompletionPipeline(MeteredEngine(engine), default_effort=settings.effort, max_lines=settings.max_lines)

    return load


def choose_loader(settings: Settings) -> tuple[PipelineLoader, str]:
    """Return (loader, engine kind): the scripted test engine when its variable is set."""
    spec = os.environ.get(TEST_ENGINE_VARIABLE)
    if spec:
        log.warning("$%s is set: serving the scripted test engine, not a model", TEST_ENGINE_VARIABLE)
        return fake_loader(spec), "fake"
    return diffusion_loader(settings), "diffusion"


class PipelineHolder:
    """The current pipeline, loaded in a worker thread; requests wait for the first load."""

    def __init__(self, loader: PipelineLoader) -> None:
        self._loader = loader
        self._current: CompletionPipeline | None = None
        self._waiting: asyncio.Future[CompletionPipeline] | None = None
        self.model_path: str | None = None

    async def load(self, model_path: str, on_replace: Callable[[], None] | None = None) -> CompletionPipeline:
        """Load ``model_path`` and make it current; on failure keep the previous pipeline.

        ``on_replace`` runs after the swap and before the previous pipeline
        closes, so that requests still on the old model get their replies first.
        """
        if self._current is None and (self._waiting is None or self._waiting.done()):
            self._waiting = asyncio.get_running_loop().create_future()
        waiting = self._waiting
        try:
            pipeline = await asyncio.to_thread(self._loader, model_path)
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
            old.close()
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
            self._current.close()


__all__ = ["ModelUnavailable", "PipelineHolder", "TEST_ENGINE_VARIABLE", "choose_loader"]
