"""Counters and recent request outcomes, served by the ``fimServer/stats`` request.

Outcomes of a request:

- ``model``: a model call returned the suggestion;
- ``exact`` and ``type_through``: cache hits;
- ``joined``: it waited for a speculative call already running for that cursor;
- ``superseded``: a newer request for the document replaced it;
- ``cancelled``: the client cancelled it;
- ``skipped``: no suggestion is wanted here (language off, comment or string
  setting, cursor inside a word, unusable document);
- ``error``: it got an error reply.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass

RECENT_OUTCOMES = 20_000
RECENT_MODEL_CALLS = 5_000


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass(frozen=True, slots=True)
class Outcome:
    request_id: object
    kind: str
    server_ms: float  # from the request's arrival to its reply
    suggestion_chars: int
    speculative_source: bool  # the suggestion came from a speculative call


class ServerStats:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.outcomes: Counter[str] = Counter()
        self.model_calls = 0
        self.model_cancelled = 0
        self.model_efforts: Counter[str] = Counter()  # model calls started, per effort level
        self.speculative_calls = 0
        self.accepts = 0
        self.recent: deque[Outcome] = deque(maxlen=RECENT_OUTCOMES)
        self.model_ms: deque[float] = deque(maxlen=RECENT_MODEL_CALLS)  # pipeline time of model calls that returned

    def record(self, request_id, kind: str, started: float, suggestion_chars: int = 0,
               speculative_source: bool = False) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.outcomes[kind] += 1
        self.recent.append(Outcome(request_id, kind, elapsed_ms, suggestion_chars, speculative_source))

    def model_latency(self) -> dict | None:
        """Return count, p50 and p95 in milliseconds of the recent model calls that returned."""
        if not self.model_ms:
            return None
        ordered = sorted(self.model_ms)
        return {"count": len(ordered), "p50": round(_percentile(ordered, 0.5), 3),
                "p95": round(_percentile(ordered, 0.95), 3)}

    def to_json(self, *, recent: bool) -> dict:
        data = {
            "uptimeSeconds": round(time.monotonic() - self.started, 3),
            "outcomes": dict(self.outcomes),
            "modelCalls": self.model_calls,
            "modelCallsCancelled": self.model_cancelled,
            "modelCallsByEffort": dict(self.model_efforts),
            "speculativeCalls": self.speculative_calls,
            "accepts": self.accepts,
            "modelLatencyMs": self.model_latency(),
        }
        if recent:
            data["recent"] = [
                {"id": item.request_id, "kind": item.kind, "serverMs": round(item.server_ms, 3),
                 "chars": item.suggestion_chars, "speculative": item.speculative_source}
                for item in self.recent
            ]
        return data


__all__ = ["ServerStats"]
