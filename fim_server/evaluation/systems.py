"""Completion systems under evaluation, built from spec strings through a registry.

A spec is ``KIND`` or ``KIND:OPTIONS`` where OPTIONS is a comma-separated list of
``key=value`` pairs or one bare value for the kind's main option:

- ``pipeline:low`` or ``pipeline:effort=high,model=/path/to/model`` runs this
  project's ``CompletionPipeline`` (all pipeline systems of one model share one engine);
- ``http:url=http://127.0.0.1:8080/v1/completions,model=NAME`` posts prompt and
  suffix to an OpenAI-compatible completions endpoint;
- ``empty``, ``repeat-line`` and ``reference`` are reference systems that keep the
  judge honest: no completion, the previous line again, and the ground truth.

Every spec also takes ``name=...``. ``register_system`` adds a kind (for example an
autoregressive baseline) without touching the runner.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .tasks import Task

DEFAULT_STOP_AFTER_S = 30.0  # a completion still running after this is stopped and recorded as an error


@dataclass(slots=True, kw_only=True)
class Completion:
    """One system's output at one position, with its wall-clock latency."""

    text: str | None  # None: the system does not handle this task (no battle is fought on it)
    latency_ms: float
    error: str | None = None
    cpu_ms: float | None = None  # CPU time of this process (all threads); None for remote systems
    info: dict = field(default_factory=dict)


class System(Protocol):
    name: str
    kind: str  # "model", "http" or "reference"

    def complete(self, task: Task) -> Completion: ...

    def warm_up(self) -> None: ...

    def close(self) -> None: ...


class SpecError(ValueError):
    """A system spec is invalid; the message names the spec and the fix."""


@dataclass(slots=True, kw_only=True)
class BuildContext:
    """Defaults and shared resources for building systems (engines are loaded once per model)."""

    model: str
    dtype: str = "auto"
    threads: int | None = None
    stop_after_s: float = DEFAULT_STOP_AFTER_S
    engines: dict = field(default_factory=dict)

    def engine(self, model: str):
        from ..engine.loading import load_engine

        key = (model, self.dtype)
        if key not in self.engines:
            self.engines[key] = load_engine(model, dtype=self.dtype, threads=self.threads)
        return self.engines[key]


Factory = Callable[[dict[str, str], BuildContext], System]
SYSTEM_KINDS: dict[str, tuple[Factory, str]] = {}


def register_system(kind: str, main_option: str = "") -> Callable[[Factory], Factory]:
    """Register ``factory(options, context) -> System`` for specs of this kind."""

    def decorate(factory: Factory) -> Factory:
        SYSTEM_KINDS[kind] = (factory, main_option)
        return factory

    return decorate


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    kind, _, rest = spec.partition(":")
    if kind not in SYSTEM_KINDS:
        raise SpecError(f"unknown system kind {kind!r} in {spec!r}: use one of {', '.join(sorted(SYSTEM_KINDS))}")
    options: dict[str, str] = {}
    main_option = SYSTEM_KINDS[kind][1]
    if rest and "=" not in rest.split(",", 1)[0]:
        if not main_option:
            raise SpecError(f"invalid spec {spec!r}: {kind} takes only key=value options")
        options[main_option] = rest
        return kind, options
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SpecError(f"invalid option {item!r} in {spec!r}: expected key=value")
        options[key.strip()] = value.strip()
    return kind, options


def build_system(spec: str, context: BuildContext) -> System:
    kind, options = parse_spec(spec)
    factory = SYSTEM_KINDS[kind][0]
    return factory(options, context)


def _unknown_options(options: dict[str, str], allowed: set[str], kind: str) -> None:
    extra = sorted(set(options) - allowed - {"name"})
    if extra:
        raise SpecError(f"unknown option {extra[0]!r} for {kind}: allowed are {', '.join(sorted(allowed | {'name'}))}")


class PipelineSystem:
    """This project's completion pipeline at one effort level: what users of the server get."""

    kind = "model"

    def __init__(self, engine, *, effort: str, name: str, stop_after_s: float = DEFAULT_STOP_AFTER_S) -> None:
        from ..pipeline import CompletionPipeline

        self.name = name
        self.effort = effort
        self.stop_after_s = stop_after_s
        self.pipeline = CompletionPipeline(engine, default_effort=effort)

    def warm_up(self) -> None:
        from ..pipeline import CompletionRequest

        self.pipeline.complete(CompletionRequest(prefix="def add(a, b):\n    return ", suffix="\n", language="python"))

    def complete(self, task: Task) -> Completion:
        from ..engine.types import FillCancelled
        from ..pipeline import CompletionRequest, RequestError

        request = CompletionRequest(prefix=task.prefix, suffix=task.suffix, language=task.language, path=task.path,
                                    effort=self.effort, mode=task.mode)
        started, cpu_started = time.perf_counter(), time.process_time()
        deadline = started + self.stop_after_s
        try:
            result = self.pipeline.complete(request, should_stop=lambda: time.perf_counter() > deadline)
        except FillCancelled:
            return Completion(text="", latency_ms=_elapsed_ms(started), error=f"stopped after {self.stop_after_s:g} s")
        except RequestError as exc:
            return Completion(text="", latency_ms=_elapsed_ms(started), error=f"request rejected: {exc}")
        latency = _elapsed_ms(started)
        cpu = (time.process_time() - cpu_started) * 1000
        info = {"effort": self.effort, "model_steps": result.model_steps, "budget_hit": result.budget_hit,
                "mode": result.mode, "rejected": result.rejected,
                "confidence": round(result.confidence, 4),
                "timings_ms": {name: round(value, 2) for name, value in result.timings_ms.items()},
                "candidates": [candidate.text for candidate in result.candidates]}
        return Completion(text=result.text, latency_ms=latency, cpu_ms=cpu, info=info)

    def close(self) -> None:
        self.pipeline.close()


@register_system("pipeline", main_option="effort")
def _build_pipeline(options: dict[str, str], context: BuildContext) -> System:
    from ..engine.types import EFFORTS

    _unknown_options(options, {"effort", "model"}, "pipeline")
    effort = options.get("effort", "low")
    if effort not in EFFORTS:
        raise SpecError(f"invalid effort {effort!r} for pipeline: use one of {', '.join(EFFORTS)}")
    model = options.get("model", context.model)
    return PipelineSystem(context.engine(model), effort=effort, name=options.get("name", f"pipeline-{effort}"),
                          stop_after_s=context.stop_after_s)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class HttpCompletionSystem:
    """An OpenAI-compatible ``/v1/completions`` endpoint that accepts ``prompt`` and ``suffix``.

    Proxies from the environment are ignored, so the request goes to the given host
    and nowhere else.
    """

    kind = "http"

    def __init__(self, *, url: str, model: str, name: str, max_tokens: int = 64, temperature: float = 0.0,
                 timeout_s: float = DEFAULT_STOP_AFTER_S, api_key: str | None = None) -> None:
        self.name, self.url, self.model = name, url, model
        self.max_tokens, self.temperature, self.timeout_s = max_tokens, temperature, timeout_s
        self.api_key = api_key
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def warm_up(self) -> None:
        pass

    def _post(self, task: Task) -> dict:
        body = {"model": self.model, "prompt": task.prefix, "suffix": task.suffix,
                "max_tokens": self.max_tokens, "temperature": self.temperature}
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        with self._opener.open(request, timeout=self.timeout_s) as response:
            return json.load(response)

    def complete(self, task: Task) -> Completion:
        started = time.perf_counter()
        try:
            payload = self._post(task)
            text = payload["choices"][0]["text"]
            if not isinstance(text, str):
                raise TypeError(f"choices[0].text is {type(text).__name__}, expected a string")
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} from {self.url}: {exc.read(300).decode('utf-8', 'replace')}"
        except (urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            if not isinstance(reason, TimeoutError):
                # The server cannot be reached: an error of the run, not a completion. The runner records it
                # as an exception, retries the position when the run resumes and stops after a few in a row.
                raise ConnectionError(f"request to {self.url} failed: {reason}") from None
            error = f"request to {self.url} failed: {exc}"
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            error = f"invalid response from {self.url}: {exc!r}"
        else:
            return Completion(text=text, latency_ms=_elapsed_ms(started))
        return Completion(text="", latency_ms=_elapsed_ms(started), error=error)

    def close(self) -> None:
        pass


@register_system("http", main_option="url")
def _build_http(options: dict[str, str], context: BuildContext) -> System:
    _unknown_options(options, {"url", "model", "max_tokens", "temperature", "timeout", "api_key_env"}, "http")
    url = options.get("url", "")
    if not url.startswith(("http://", "https://")):
        raise SpecError(f"invalid url {url!r} for http: give url=http://HOST:PORT/v1/completions")
    api_key_env = options.get("api_key_env")
    api_key = os.environ.get(api_key_env) if api_key_env else None
    if api_key_env and not api_key:
        raise SpecError(f"environment variable {api_key_env} is not set: export it or drop api_key_env")
    try:
        max_tokens = int(options.get("max_tokens", 64))
        temperature = float(options.get("temperature", 0.0))
        timeout_s = float(options.get("timeout", context.stop_after_s))
    except ValueError as exc:
        raise SpecError(f"invalid number in http options {options}: {exc}") from None
    model = options.get("model", "default")
    return HttpCompletionSystem(url=url, model=model, name=options.get("name", f"http-{model}"), max_tokens=max_tokens,
                                temperature=temperature, timeout_s=timeout_s, api_key=api_key)


class _ReferenceSystem:
    kind = "reference"

    def __init__(self, name: str, produce: Callable[[Task], str | None]) -> None:
        self.name = name
        self.produce = produce

    def warm_up(self) -> None:
        pass

    def complete(self, task: Task) -> Completion:
        started = time.perf_counter()
        text = self.produce(task)
        return Completion(text=text, latency_ms=_elapsed_ms(started))

    def close(self) -> None:
        pass


def repeat_previous_line(task: Task) -> str:
    """Return the previous non-blank line again, aligned to the cursor's column."""
    before, _, current = task.prefix.rpartition("\n")
    for line in reversed(before.split("\n")):
        if line.strip():
            return line.strip() if not current.strip() else line[len(current):]
    return ""


@register_system("empty")
def _build_empty(options: dict[str, str], context: BuildContext) -> System:
    _unknown_options(options, set(), "empty")
    return _ReferenceSystem(options.get("name", "empty"), lambda task: "")


@register_system("repeat-line")
def _build_repeat_line(options: dict[str, str], context: BuildContext) -> System:
    _unknown_options(options, set(), "repeat-line")
    return _ReferenceSystem(options.get("name", "repeat-line"), repeat_previous_line)


@register_system("reference")
def _build_reference(options: dict[str, str], context: BuildContext) -> System:
    _unknown_options(options, set(), "reference")
    return _ReferenceSystem(options.get("name", "reference"), lambda task: task.reference)


__all__ = ["BuildContext", "Completion", "HttpCompletionSystem", "PipelineSystem", "SYSTEM_KINDS", "SpecError", "System", "build_system",
           "parse_spec", "register_system", "repeat_previous_line"]
