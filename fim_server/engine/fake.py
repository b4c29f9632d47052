"""A scripted stand-in for the diffusion engine, for fast tests of the serving layers.

It implements the same ``fill`` contract as ``DiffusionEngine`` (steps, cancel
checks between steps, timings) without weights. It never claims model
behaviour: tests of completion quality use the real bundled model.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from .types import EFFORTS, Candidate, FillCancelled, FillResult


class FakeEngine:
    """Return ``respond(prefix, suffix)`` after ``steps`` sleeps of ``step_seconds``."""

    kind = "fake"

    def __init__(
        self,
        respond: Callable[[str, str], str] | None = None,
        *,
        steps: int = 4,
        step_seconds: float = 0.0,
        fail_with: Exception | None = None,
        confidence: float = 0.9,
    ) -> None:
        self.respond = respond or (lambda prefix, suffix: "fake_completion()")
        self.steps = steps
        self.step_seconds = step_seconds
        self.fail_with = fail_with
        self.confidence = confidence
        self.calls: list[tuple[str, str, int, str]] = []
        self._lock = threading.Lock()

    def fill(self, prefix: str, suffix: str, *, canvas_tokens: int, effort: str = "low", should_stop=None) -> FillResult:
        if effort not in EFFORTS:
            raise ValueError(f"invalid effort {effort!r}")
        with self._lock:
            self.calls.append((prefix, suffix, canvas_tokens, effort))
            started = time.perf_counter()
            for _ in range(self.steps):
                if should_stop is not None and should_stop():
                    raise FillCancelled()
                if self.step_seconds:
                    time.sleep(self.step_seconds)
            if self.fail_with is not None:
                raise self.fail_with
            text = self.respond(prefix, suffix)
            elapsed = (time.perf_counter() - started) * 1000
            candidate = Candidate(text=text, confidence=self.confidence, finished=True, canvas_tokens=canvas_tokens)
            return FillResult([candidate], self.steps, [1] * self.steps, {"denoise": elapsed}, "miss")


def scripted_responder(script: dict) -> Callable[[str, str], str]:
    """Return a ``respond(prefix, suffix)`` that applies the script's rules, first match wins."""
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


def engine_from_script(spec: str) -> FakeEngine:
    """Build a ``FakeEngine`` from a JSON script; raise ValueError when ``spec`` is not a JSON object.

    Keys: ``text`` (default suggestion), ``rules`` (``{"after": ..., "text": ...}``
    or ``{"after": ..., "fail": message}``, matched against the end of the prefix),
    ``steps``, ``step_seconds``, ``confidence`` (of every candidate, default 0.9) and ``fail``
    (raise RuntimeError in every fill).
    """
    try:
        script = json.loads(spec)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(script, dict):
        raise ValueError("expected a JSON object")
    failure = RuntimeError(script["fail"]) if script.get("fail") else None
    return FakeEngine(scripted_responder(script), steps=int(script.get("steps", 4)),
                      step_seconds=float(script.get("step_seconds", 0.0)), fail_with=failure,
                      confidence=float(script.get("confidence", 0.9)))
