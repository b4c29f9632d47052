"""Engine-facing types that do not need torch: effort profiles, results, cancellation.

Front ends import these without paying for the torch import (several seconds on
a slow machine), so a server can start and validate settings before a model loads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True, kw_only=True)
class EffortProfile:
    """Sampler knobs selected by one ``effort`` name."""

    name: str
    threshold: float  # commit every masked token whose confidence reaches this
    max_steps: int  # step cap; the last step commits everything still masked
    candidates: int  # canvases denoised in one batch, ranked afterwards
    revision: bool  # re-mask the least confident tokens once and denoise again
    length_factors: tuple[float, ...] = (1.0,)  # canvas-length probes around the hint
    window: int | None = None  # only the leftmost N masked slots may be committed before the last step
    # Denoising time budget: once another step would end past it, the next step is the last one
    # (it commits every slot still masked) and the revision pass is skipped. None: no budget.
    budget_ms: float | None = None
    # Rank several candidates by their fit (see Candidate.fit) instead of their confidence.
    rank_by_fit: bool = False


EFFORTS: dict[str, EffortProfile] = {
    "instant": EffortProfile(name="instant", threshold=0.7, max_steps=4, candidates=1, revision=False, window=4),
    "low": EffortProfile(name="low", threshold=0.7, max_steps=8, candidates=1, revision=False, window=3),
    "medium": EffortProfile(name="medium", threshold=0.9, max_steps=16, candidates=2, revision=False,
                            length_factors=(1.0, 0.5), window=2, budget_ms=400.0, rank_by_fit=True),
    "high": EffortProfile(name="high", threshold=0.95, max_steps=64, candidates=4, revision=True,
                          length_factors=(1.0, 0.75, 1.25, 0.5), window=1, budget_ms=700.0,
                          rank_by_fit=True),
}


class FillCancelled(Exception):
    """Raised between denoising steps when the caller asked to stop."""


class ModelLoadError(ValueError):
    """A model folder's tokenizer or weights are missing or damaged; the message names the folder and the fix."""


class Overloaded(RuntimeError):
    """The request queue is full. The message gives the queue length, the limit and what to do."""


class DeadlineExceeded(RuntimeError):
    """A request's deadline passed while it was queued or being denoised."""


class FillControl:
    """A ``should_stop`` callable for one request: a cancel flag plus an optional deadline and time budget.

    ``deadline`` is a ``time.monotonic()`` value. An engine that only calls
    ``should_stop()`` sees a stop request once the deadline passes.
    ``BatchedEngine`` also reads ``deadline`` to raise ``DeadlineExceeded``, and
    ``RemoteEngine`` reads it to send the remaining time budget to the daemon.
    ``budget_ms`` is the request's own denoising time budget (llama.cpp's
    ``t_max_predict_ms``): the diffusion engines use it where it is below the
    effort's budget, and the daemon receives it with the fill.
    """

    def __init__(self, deadline: float | None = None, budget_ms: float | None = None) -> None:
        self.deadline = deadline
        self.budget_ms = budget_ms
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def __call__(self) -> bool:
        return self.cancelled or self.expired


def with_request_budget(profile: EffortProfile, should_stop) -> EffortProfile:
    """Return ``profile`` with the request's time budget (``should_stop.budget_ms``) where that is tighter."""
    budget = getattr(should_stop, "budget_ms", None)
    if budget is None or (profile.budget_ms is not None and profile.budget_ms <= budget):
        return profile
    return replace(profile, budget_ms=float(budget))


CONFIDENCE_FLOOR_HINT = "use a number from 0 to 1 (0 shows every completion)"


def confidence_floor_problem(value) -> str | None:
    """Return why ``value`` cannot be a confidence floor, or None when it can.

    Every front end (settings file, pipeline request, LSP setting, HTTP field)
    checks the floor here and wraps the result in its own error type.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        return CONFIDENCE_FLOOR_HINT
    return None


@dataclass(slots=True)
class Candidate:
    text: str
    confidence: float  # geometric mean probability of the committed tokens up to end-of-middle
    finished: bool  # an end-of-middle token was produced inside the canvas
    canvas_tokens: int
    # Mean log-probability of the candidate's tokens, then of the suffix's first tokens, under the
    # model's left-to-right head (the prefix head). None where the engine did not compute it.
    fit: float | None = None


@dataclass(slots=True)
class FillResult:
    candidates: list[Candidate]  # best first, in the engine's ranking
    steps: int
    tokens_per_step: list[int]
    timings_ms: dict[str, float] = field(default_factory=dict)
    cache: str = "miss"  # "hit", "append" or "miss"
    budget_hit: bool = False  # the profile's time budget ended denoising before its step cap
