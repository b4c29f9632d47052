"""Turn completion rows and sandbox outcomes into scores, battles and ratings."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .arena import Agreement, Battle, fight_battles
from .judge import Judged, judge_completion, shown_text
from .heuristics import completion_defects
from .metrics import match_scores, mean_pass_at_k
from .ratings import Rating, bradley_terry
from .records import execution_key
from .tasks import Task


@dataclass(slots=True, kw_only=True)
class SuiteScores:
    """Quality of one system on one suite, from raw completions (before the deadline rule)."""

    system: str
    suite: str
    judged_by: str
    tasks: int
    pass_at: dict[int, float] = field(default_factory=dict)  # execution suites
    exact: float | None = None  # suites with a reference
    similarity: float | None = None
    clean: float | None = None  # suites without a reference: share with no defect
    shown: float = 0.0  # share returned without error within the deadline
    nonempty: float = 0.0  # share with any non-blank text (before the deadline rule)
    errors: int = 0
    latency_p50: float = 0.0
    latency_p95: float = 0.0


@dataclass(slots=True, kw_only=True)
class SystemLatency:
    system: str
    kind: str
    latencies_ms: list[float]
    p50: float
    p95: float
    cpu_p50: float | None  # CPU time per completion, less sensitive than wall-clock time to other load
    cpu_p95: float | None
    mean_model_steps: float | None
    effort: str | None  # pipeline systems only


@dataclass(slots=True, kw_only=True)
class RunSummary:
    environment: dict
    available: dict[str, int]  # tasks per suite in the source
    selected: dict[str, int]  # tasks per suite in this run
    scores: list[SuiteScores]
    latency: dict[str, SystemLatency]
    ratings: list[Rating]
    battles: list[Battle]
    agreement: Agreement | None
    systems: list[str]  # in the order given on the command line


def group_rows(rows: list[dict], specs: list[str]) -> dict[str, dict[str, list[dict]]]:
    """Return system name -> task id -> rows sorted by sample, for the listed specs only."""
    grouped: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row["system_spec"] in specs:
            grouped[row["system"]][row["task_id"]].append(row)
    for by_task in grouped.values():
        for samples in by_task.values():
            samples.sort(key=lambda row: row["sample"])
    return grouped


def needed_programs(tasks: list[Task], grouped: dict[str, dict[str, list[dict]]], deadline_ms: float) -> set[tuple[str, str]]:
    """Return every (task id, middle) whose test outcome the summary needs."""
    programs = set()
    for task in tasks:
        if task.judged_by != "execution":
            continue
        for by_task in grouped.values():
            for row in by_task.get(task.task_id, []):
                if row["text"] is None:
                    continue
                programs.add((task.task_id, row["text"]))
                programs.add((task.task_id, shown_text(row["text"], row["error"], row["latency_ms"], deadline_ms)[1]))
    return programs


def _percentiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    p50, p95 = np.percentile(values, [50, 95])
    return float(p50), float(p95)


def _passed(executions: dict[str, dict], task: Task, text: str) -> bool:
    return executions[execution_key(task.task_id, text)]["status"] == "passed"


def score_suite(system: str, suite_tasks: list[Task], by_task: dict[str, list[dict]], executions: dict[str, dict],
                deadline_ms: float, samples: int) -> SuiteScores | None:
    handled = [task for task in suite_tasks if by_task.get(task.task_id) and by_task[task.task_id][0]["text"] is not None]
    if not handled:
        return None
    first_rows = [by_task[task.task_id][0] for task in handled]
    latencies = [row["latency_ms"] for row in first_rows]
    p50, p95 = _percentiles(latencies)
    judged_by = handled[0].judged_by
    scores = SuiteScores(system=system, suite=handled[0].suite, judged_by=judged_by, tasks=len(handled),
                         errors=sum(row["error"] is not None for row in first_rows), latency_p50=p50, latency_p95=p95)
    scores.shown = float(np.mean([shown_text(r["text"], r["error"], r["latency_ms"], deadline_ms)[0] for r in first_rows]))
    scores.nonempty = float(np.mean([bool(row["text"].strip()) for row in first_rows]))
    if judged_by == "execution":
        counts = [(len(by_task[t.task_id]), sum(_passed(executions, t, r["text"]) for r in by_task[t.task_id]))
                  for t in handled]
        scores.pass_at = {k: mean_pass_at_k(counts, k) for k in sorted({1, samples}) if k <= samples}
    if judged_by in ("execution", "match"):
        matches = [match_scores(row["text"], task.reference, single_line=task.single_line)
                   for task, row in zip(handled, first_rows)]
        scores.exact = float(np.mean([exact for exact, _ in matches]))
        scores.similarity = float(np.mean([similarity for _, similarity in matches]))
    else:
        defects = [completion_defects(row["text"], t.prefix, t.suffix, t.language) for t, row in zip(handled, first_rows)]
        scores.clean = float(np.mean([not found for found in defects]))
    return scores


def judge_all(tasks: list[Task], grouped: dict[str, dict[str, list[dict]]], executions: dict[str, dict],
              deadline_ms: float) -> dict[str, dict[str, Judged]]:
    """Return system -> task id -> the judged first sample, after the deadline rule."""
    judged: dict[str, dict[str, Judged]] = {}
    for system, by_task in grouped.items():
        judged[system] = {}
        for task in tasks:
            rows = by_task.get(task.task_id)
            if not rows or rows[0]["text"] is None:
                continue
            row = rows[0]
            shown, text = shown_text(row["text"], row["error"], row["latency_ms"], deadline_ms)
            passed = _passed(executions, task, text) if task.judged_by == "execution" else None
            judged[system][task.task_id] = judge_completion(task, shown, text, passed)
    return judged


def system_latency(system: str, by_task: dict[str, list[dict]]) -> SystemLatency:
    rows = [samples[0] for samples in by_task.values() if samples[0]["text"] is not None]
    latencies = [row["latency_ms"] for row in rows]
    steps = [row["info"]["model_steps"] for row in rows if "model_steps" in row.get("info", {})]
    p50, p95 = _percentiles(latencies)
    cpu = [row["cpu_ms"] for row in rows if row.get("cpu_ms") is not None]
    cpu_p50, cpu_p95 = _percentiles(cpu) if cpu else (None, None)
    effort = next((row["info"]["effort"] for row in rows if "effort" in row.get("info", {})), None)
    return SystemLatency(system=system, kind=rows[0]["kind"] if rows else "", latencies_ms=latencies, p50=p50, p95=p95,
                         cpu_p50=cpu_p50, cpu_p95=cpu_p95, mean_model_steps=float(np.mean(steps)) if steps else None,
                         effort=effort)


def summarize(*, tasks: list[Task], rows: list[dict], executions: dict[str, dict], specs: list[str],
              deadline_ms: float, margin: float, samples: int, seed: int, bootstrap_rounds: int,
              environment: dict, available: dict[str, int], agreement: Agreement | None) -> RunSummary:
    grouped = group_rows(rows, specs)
    order: list[str] = []
    for spec in specs:
        name = next((row["system"] for row in rows if row["system_spec"] == spec), None)
        if name is not None and name not in order:
            order.append(name)
    suites: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        suites[task.suite].append(task)
    scores = [found for system in order for suite_tasks in suites.values()
              if (found := score_suite(system, suite_tasks, grouped[system], executions, deadline_ms, samples))]
    judged = judge_all(tasks, grouped, executions, deadline_ms)
    battles = fight_battles(judged, tasks, seed=seed, margin=margin)
    ratings = bradley_terry(order, [(b.first, b.second, b.outcome) for b in battles], rounds=bootstrap_rounds,
                            seed=seed) if len(order) > 1 else []
    return RunSummary(environment=environment, available=available,
                      selected={suite: len(items) for suite, items in suites.items()}, scores=scores,
                      latency={system: system_latency(system, grouped[system]) for system in order},
                      ratings=ratings, battles=battles, agreement=agreement, systems=order)


__all__ = ["RunSummary", "SuiteScores", "SystemLatency", "needed_programs", "summarize"]
