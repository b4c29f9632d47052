"""Adaptive debounce: the wait before a model call from typing rate and model latency."""

import pytest

from fim_server.lsp.debounce import PAUSE_MS, AdaptiveDebounce, debounce_delay_ms


@pytest.mark.parametrize(
    ("interval_ms", "latency_ms", "expected_ms"),
    [
        (None, 300.0, 10.0),  # typing rate unknown: the minimum
        (150.0, None, 10.0),  # latency unknown: the minimum
        (150.0, 30.0, 10.0),  # the model returns well before the next key
        (150.0, 75.0, 10.0),  # load 0.5: still the minimum
        (150.0, 112.5, 75.0),  # load 0.75: half an interval
        (150.0, 150.0, 150.0),  # load 1: one interval
        (150.0, 900.0, 150.0),  # much slower model: still one interval
        (2000.0, 4000.0, 500.0),  # the maximum bounds a slow typist's interval
    ],
)
def test_delay_table(interval_ms, latency_ms, expected_ms):
    assert debounce_delay_ms(interval_ms, latency_ms, 10, 500) == pytest.approx(expected_ms)


def type_keys(debounce: AdaptiveDebounce, now: list[float], count: int, gap_s: float) -> None:
    for _ in range(count):
        debounce.record_keystroke("a.py")
        now[0] += gap_s


def test_typing_rate_ignores_pauses():
    now = [0.0]
    debounce = AdaptiveDebounce(clock=lambda: now[0])
    type_keys(debounce, now, 5, 0.1)
    assert debounce.typing_interval_ms("a.py") == pytest.approx(100.0)
    now[0] += PAUSE_MS / 1000 + 1.0
    debounce.record_keystroke("a.py")
    assert debounce.typing_interval_ms("a.py") == pytest.approx(100.0)  # the pause did not count
    assert debounce.typing_interval_ms("b.py") is None


def test_delay_follows_measurements():
    now = [0.0]
    debounce = AdaptiveDebounce(clock=lambda: now[0])
    type_keys(debounce, now, 4, 0.2)
    assert debounce.delay_ms("a.py", 0, 1000) == 0.0  # no latency measured yet
    debounce.record_latency(400.0)
    assert debounce.delay_ms("a.py", 0, 1000) == pytest.approx(200.0)
    assert debounce.delay_ms("a.py", 0, 50) == pytest.approx(50.0)
    debounce.forget("a.py")
    assert debounce.delay_ms("a.py", 5, 1000) == 5.0
