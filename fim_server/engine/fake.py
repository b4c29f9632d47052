"""A scripted stand-in for the diffusion engine, for fast tests of the serving layers.

It implements the same ``fill`` contract as ``DiffusionEngine`` (steps, cancel
checks between steps, timings) without weights. It never claims model
behaviour: tests of completion quality use the real bundled model.
"""

from __future__ import annotations

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
    ) -> None:
        self.respond = respond or (lambda prefix, suffix: "fake_completion()")
        self.steps = steps
        self.step_seconds = step_seconds
        self.fail_with = fail_with
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
            candidate = Candidate(text=text, confidence=0.9, finished=True, canvas_tokens=canvas_tokens)
            return FillResult([candidate], self.steps, [1] * self.steps, {"denoise": elapsed}, "miss")
