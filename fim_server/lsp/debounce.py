"""Adaptive wait before a model call, from the typing rate and the model latency.

When the model returns well within the time between two keystrokes, waiting
only delays the ghost text, so the wait is the minimum. When a model call takes
about as long as the user needs for the next keystroke, most calls would be
superseded before they finish, so the server waits up to one typing interval
for the user to pause. In between the wait grows linearly with the load
(latency / typing interval) from 0.5 to 1. The settings bound the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

PAUSE_MS = 1500.0  # a gap longer than this is a pause, not part of the typing rate
SMOOTHING = 0.3  # weight of the newest sample in the moving averages


def debounce_delay_ms(typing_interval_ms: float | None, latency_ms: float | None,
                      min_ms: float, max_ms: float) -> float:
    """Return the wait before a model call; the minimum while either measurement is missing."""
    if not typing_interval_ms or latency_ms is None:
        return float(min_ms)
    load = latency_ms / typing_interval_ms
    ramp = min(1.0, max(0.0, (load - 0.5) / 0.5))
    return float(min(max_ms, max(min_ms, typing_interval_ms * ramp)))


def _smooth(previous: float | None, sample: float) -> float:
    return sample if previous is None else previous + SMOOTHING * (sample - previous)


@dataclass(slots=True)
class _Typing:
    last: float  # monotonic seconds of the last keystroke
    interval_ms: float | None = None


class AdaptiveDebounce:
    """Moving averages of the typing interval (per document) and of the model latency."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._typing: dict[str, _Typing] = {}
        self.latency_ms: float | None = None

    def record_keystroke(self, uri: str) -> None:
        now = self._clock()
        typing = self._typing.get(uri)
        if typing is None:
            self._typing[uri] = _Typing(now)
            return
        gap_ms = (now - typing.last) * 1000
        typing.last = now
        if gap_ms <= PAUSE_MS:
            typing.interval_ms = _smooth(typing.interval_ms, gap_ms)

    def record_latency(self, latency_ms: float) -> None:
        self.latency_ms = _smooth(self.latency_ms, latency_ms)

    def typing_interval_ms(self, uri: str) -> float | None:
        typing = self._typing.get(uri)
        return None if typing is None else typing.interval_ms

    def delay_ms(self, uri: str, min_ms: float, max_ms: float) -> float:
        return debounce_delay_ms(self.typing_interval_ms(uri), self.latency_ms, min_ms, max_ms)

    def forget(self, uri: str) -> None:
        self._typing.pop(uri, None)


__all__ = ["AdaptiveDebounce", "debounce_delay_ms"]
