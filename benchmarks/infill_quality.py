"""HumanEval infilling pass@1 and exact match of one completion pipeline, with per-completion latency.

Used by ``ar_vs_diffusion.py``. Each completion goes through the production
``CompletionPipeline`` (context window, fill, post-processing, ranking) and is
judged by running ``prefix + completion + suffix + test`` in the sandbox of
``fim_server.evaluation.sandbox``. Identical programs are executed once.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from fill_timing import percentile

from fim_server.evaluation import Task, load_suite, subsample
from fim_server.evaluation.metrics import match_scores
from fim_server.evaluation.sandbox import run_program
from fim_server.pipeline import CompletionRequest


def load_tasks(data: Path, suite: str, limit: int, seed: int) -> list[Task]:
    """Return ``limit`` tasks of a suite drawn with the evaluation harness's seeded subsampling."""
    return subsample(load_suite(suite, data), limit, seed)


@dataclass(slots=True)
class QualityResult:
    """Scores of one system on one suite."""

    tasks: int
    pass_at_1: float
    exact_match: float
    edit_similarity: float  # mean over tasks, after the suite's normalisation (1.0 is identical)
    p50_ms: float
    p95_ms: float
    mean_chars: float
    texts: list[str] = field(default_factory=list)


class ExecutionCache:
    """Sandbox outcomes keyed by the program text, shared by every system of a run."""

    def __init__(self) -> None:
        self._passed: dict[str, bool] = {}

    def passed(self, task: Task, middle: str) -> bool:
        program = task.program(middle)
        if program not in self._passed:
            self._passed[program] = run_program(program).passed
        return self._passed[program]


def score_texts(tasks: list[Task], texts: list[str], latencies_ms: list[float], executions: ExecutionCache) -> QualityResult:
    """Execute each task's tests with its middle and compare the middle with the reference."""
    passed = [executions.passed(task, text) for task, text in zip(tasks, texts)]
    matches = [match_scores(text, task.reference, single_line=task.single_line) for task, text in zip(tasks, texts)]
    return QualityResult(len(tasks), statistics.fmean(passed), statistics.fmean(exact for exact, _ in matches),
                         statistics.fmean(similarity for _, similarity in matches), percentile(latencies_ms, 0.5),
                         percentile(latencies_ms, 0.95), statistics.fmean(len(t) for t in texts), texts)


def score_pipeline(pipeline, tasks: list[Task], effort: str, executions: ExecutionCache) -> QualityResult:
    """Complete every task at ``effort`` greedily (one sample each), then execute the tests."""
    latencies, texts = [], []
    for task in tasks:
        request = CompletionRequest(prefix=task.prefix, suffix=task.suffix, language=task.language, path=task.path,
                                    effort=effort, mode=task.mode)
        started = time.perf_counter()
        result = pipeline.complete(request)
        latencies.append((time.perf_counter() - started) * 1000)
        texts.append(result.text)
    return score_texts(tasks, texts, latencies, executions)


__all__ = ["ExecutionCache", "QualityResult", "load_tasks", "score_pipeline", "score_texts"]
