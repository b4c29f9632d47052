"""Prometheus metrics in the text exposition format (version 0.0.4), written without a client library.

Request counters and latency histograms are recorded here by the HTTP layer;
batch sizes, queue depth and fill outcomes are read from the engine's
``BatchStats`` when the endpoint is scraped.
"""

from __future__ import annotations

import bisect
import collections
import threading

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: dict[str, str]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{key}="{_escape(str(value))}"' for key, value in pairs.items()) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Histogram:
    def __init__(self, buckets) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)  # the last slot is +Inf
        self.total = 0.0

    def observe(self, value: float, count: int = 1) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += count
        self.total += value * count

    def lines(self, name: str, labels: dict[str, str]) -> list[str]:
        out, cumulative = [], 0
        for bound, count in zip(list(self.buckets) + ["+Inf"], self.counts):
            cumulative += count
            le = bound if isinstance(bound, str) else _number(bound)
            out.append(f"{name}_bucket{_labels({**labels, 'le': le})} {cumulative}")
        out.append(f"{name}_sum{_labels(labels)} {_number(self.total)}")
        out.append(f"{name}_count{_labels(labels)} {cumulative}")
        return out


class HttpMetrics:
    """Counters and histograms of the HTTP layer; safe to update from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: collections.Counter = collections.Counter()  # (endpoint, status) -> count
        self.latency: dict[str, Histogram] = {}

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(endpoint, str(status))] += 1
            self.latency.setdefault(endpoint, Histogram(LATENCY_BUCKETS)).observe(seconds)

    def render(self, *, engine=None, inflight: int = 0) -> str:
        lines = ["# HELP fim_http_requests_total HTTP requests by endpoint and status code.",
                 "# TYPE fim_http_requests_total counter"]
        with self._lock:
            for (endpoint, status), count in sorted(self.requests.items()):
                lines.append(f"fim_http_requests_total{_labels({'endpoint': endpoint, 'status': status})} {count}")
            lines += ["# HELP fim_http_request_duration_seconds Time from request to response.",
                      "# TYPE fim_http_request_duration_seconds histogram"]
            for endpoint, histogram in sorted(self.latency.items()):
                lines += histogram.lines("fim_http_request_duration_seconds", {"endpoint": endpoint})
        lines += ["# HELP fim_http_inflight_requests Completions running now.",
                  "# TYPE fim_http_inflight_requests gauge", f"fim_http_inflight_requests {inflight}"]
        if getattr(engine, "stats", None) is not None:
            lines += engine_lines(engine)
        return "\n".join(lines) + "\n"


def engine_lines(engine) -> list[str]:
    """Batch sizes, queue depth and fill outcomes of a ``BatchedEngine``."""
    stats = engine.stats
    rows = Histogram(BATCH_BUCKETS)
    for size, count in list(stats.rows_per_step.items()):
        rows.observe(size, count)
    requests = Histogram(BATCH_BUCKETS)
    for size, count in list(stats.requests_per_step.items()):
        requests.observe(size, count)
    lines = ["# HELP fim_batch_rows Canvas rows in each batched denoising step.",
             "# TYPE fim_batch_rows histogram"]
    lines += rows.lines("fim_batch_rows", {})
    lines += ["# HELP fim_batch_requests Requests sharing each batched denoising step.",
              "# TYPE fim_batch_requests histogram"]
    lines += requests.lines("fim_batch_requests", {})
    lines += ["# HELP fim_queue_depth Requests waiting for a free batch row.", "# TYPE fim_queue_depth gauge",
              f"fim_queue_depth {engine.queue_depth}",
              "# HELP fim_active_requests Requests in the running batch.", "# TYPE fim_active_requests gauge",
              f"fim_active_requests {engine.active_requests}",
              "# HELP fim_denoise_steps_total Batched model calls.", "# TYPE fim_denoise_steps_total counter",
              f"fim_denoise_steps_total {stats.steps}",
              "# HELP fim_fills_total Fills by outcome.", "# TYPE fim_fills_total counter"]
    for outcome, count in sorted(list(stats.outcomes.items())):
        lines.append(f"fim_fills_total{_labels({'outcome': outcome})} {count}")
    lines += ["# HELP fim_context_cache_total Finished fills by context cache use (hit, append or miss).",
              "# TYPE fim_context_cache_total counter"]
    for state, count in sorted(list(stats.cache_states.items())):
        lines.append(f"fim_context_cache_total{_labels({'state': state})} {count}")
    return lines
