"""Timing of engine fills at forced completion lengths and along a typed line, for any engine.

Used by ``ar_vs_diffusion.py``. Lengths are forced by banning the end-of-middle
token, so every fill of a length class produces the same number of tokens on
both engines. A completion longer than the model's canvas (64 tokens for the
shipped configuration) is produced as chained fills: each chunk is appended to
the prefix before the next fill, which both engines serve from their prefix cache.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from dataclasses import dataclass

# Completion sizes in tokens: about 16 tokens for one line, 48 for a 5-line block,
# 160 for 20 lines. Measured with the shipped tokenizer: 8.4 tokens per line on HumanEval
# middles and 10.2 on the corpus validation files.
LENGTH_CLASSES = {"1 line": 16, "5 lines": 48, "20 lines": 160}


def percentile(values: list[float], q: float) -> float:
    """Return the nearest-rank percentile ``q`` in [0, 1]."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass(slots=True)
class TimingSummary:
    """Latency percentiles (wall-clock ms) and throughput of one engine setting.

    ``cpu_p50_ms`` is the median CPU time of this process per completion. On a
    machine shared with other jobs it tracks the work done more closely than the
    wall clock, which also counts time spent waiting for a core.
    """

    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_p50_ms: float
    tokens_per_s: float  # median over completions of tokens / wall-clock latency
    steps: float  # mean model calls per completion

    @classmethod
    def of(cls, latencies_ms: list[float], cpu_ms: list[float], tokens: int, steps: list[int]) -> "TimingSummary":
        rates = [tokens / (ms / 1000) for ms in latencies_ms]
        return cls(len(latencies_ms), percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.95),
                   percentile(latencies_ms, 0.99), percentile(cpu_ms, 0.5), statistics.median(rates),
                   statistics.fmean(steps))


def forget_context(engine) -> None:
    """Drop the engine's cached context so that the next fill encodes everything (a cold request)."""
    engine.forget_context()


@contextlib.contextmanager
def forced_length(engine):
    """Ban the end-of-middle token so that every fill uses its whole token budget."""
    original = list(engine.banned_ids)
    engine.banned_ids = original + [engine.config.eom_token_id]
    try:
        yield
    finally:
        engine.banned_ids = original


def timed_fill(engine, prefix: str, suffix: str, tokens: int, effort: str) -> tuple[float, float, int, str]:
    """Produce ``tokens`` tokens in chunks of at most one canvas; return (wall ms, CPU ms, model calls, text)."""
    chunk_limit = engine.config.max_canvas_tokens
    produced, steps, text = 0, 0, ""
    started, cpu_started = time.perf_counter(), time.process_time()
    while produced < tokens:
        chunk = min(chunk_limit, tokens - produced)
        result = engine.fill(prefix + text, suffix, canvas_tokens=chunk, effort=effort)
        steps += result.steps
        text += result.candidates[0].text
        produced += chunk
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu_started) * 1000, steps, text


MIN_SAMPLES = 3


def time_lengths(systems: list[tuple], contexts: list[tuple[str, str]], repeats: int,
                 budget_s: float) -> dict[str, dict[str, TimingSummary]]:
    """Time cold fills of each length class for every ``(name, engine, effort)`` system.

    Systems take turns on each context, so that a change in machine load hits all
    of them alike. A system stops early in a class once it has spent ``budget_s``
    seconds there (after at least ``MIN_SAMPLES`` fills); the summaries record the count.
    """
    samples = {name: {length: ([], [], []) for length in LENGTH_CLASSES} for name, _, _ in systems}
    for _, engine, effort in systems:
        with forced_length(engine):
            timed_fill(engine, *contexts[0], 8, effort)  # warm-up: first-call allocations
    for length, tokens in LENGTH_CLASSES.items():
        for index in range(repeats):
            prefix, suffix = contexts[index % len(contexts)]
            for name, engine, effort in systems:
                latencies, cpu, steps = samples[name][length]
                if len(latencies) >= MIN_SAMPLES and sum(latencies) / 1000 > budget_s:
                    continue
                forget_context(engine)
                with forced_length(engine):
                    ms, cpu_ms, calls, _ = timed_fill(engine, prefix, suffix, tokens, effort)
                latencies.append(ms)
                cpu.append(cpu_ms)
                steps.append(calls)
    return {name: {length: TimingSummary.of(*cells[:2], LENGTH_CLASSES[length], cells[2])
                   for length, cells in classes.items()} for name, classes in samples.items()}


def _timed_keystroke(engine, prefix: str, suffix: str, effort: str, cold: bool) -> tuple[float, float, int, str]:
    if cold:
        forget_context(engine)
    started, cpu_started = time.perf_counter(), time.process_time()
    with forced_length(engine):
        result = engine.fill(prefix, suffix, canvas_tokens=LENGTH_CLASSES["1 line"], effort=effort)
    wall_ms, cpu_ms = (time.perf_counter() - started) * 1000, (time.process_time() - cpu_started) * 1000
    return wall_ms, cpu_ms, result.steps, result.cache


def time_keystrokes(systems: list[tuple], typing: list[tuple[str, str, str]]) -> dict[str, tuple[TimingSummary, dict]]:
    """Type each ``(prefix, typed text, suffix)`` one character at a time, filling one line after every key.

    Every keystroke is filled twice per system: first with the context cache the
    previous keystroke left (the production behaviour), then cold, after dropping
    the cache. The cold fill leaves the same cache behind, so the next keystroke's
    reuse is unaffected. Returns, per variant, the latency summary and the count of
    each cache state.
    """
    variants = {f"{name}, {kind}": ([], [], [], {}) for name, _, _ in systems for kind in ("cache reuse", "cold")}
    for prefix, typed, suffix in typing:
        for _, engine, effort in systems:
            _timed_keystroke(engine, prefix, suffix, effort, cold=True)  # the request before typing starts
        for count in range(1, len(typed) + 1):
            for name, engine, effort in systems:
                for kind in ("cache reuse", "cold"):
                    ms, cpu_ms, steps, state = _timed_keystroke(engine, prefix + typed[:count], suffix, effort,
                                                                cold=kind == "cold")
                    latencies, cpu, all_steps, states = variants[f"{name}, {kind}"]
                    latencies.append(ms)
                    cpu.append(cpu_ms)
                    all_steps.append(steps)
                    states[state] = states.get(state, 0) + 1
    tokens = LENGTH_CLASSES["1 line"]
    return {key: (TimingSummary.of(lat, cpu, tokens, steps), states)
            for key, (lat, cpu, steps, states) in variants.items()}


__all__ = ["LENGTH_CLASSES", "TimingSummary", "forced_length", "forget_context", "percentile", "time_keystrokes",
           "time_lengths", "timed_fill"]
