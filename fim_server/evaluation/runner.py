"""A resumable evaluation run: generate completions, execute tests, judge, report.

Run folder layout (``--out``)::

    run.json            settings, machine and model fingerprint
    completions.jsonl   one row per (system, task, sample), appended as produced
    executions.jsonl    sandbox outcome per (task, completion text), a cache
    battles.jsonl       every judged battle (rewritten by each judge pass)

Generation and execution are separate phases so that sandbox processes never
compete with the model for CPU while latency is being measured. Generation runs
one system after another over all tasks, so consecutive requests are different
positions and the engine's context cache does not flatter later systems.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from .arena import judge_agreement
from .datasets import arena_path, load_arena_votes
from .environment import describe_environment
from .plots import write_plots
from .records import RowWriter, execution_key, read_rows
from .report import render_report
from .run_config import DEFAULT_SUITES, DEFAULT_SYSTEMS, IDENTITY_FIELDS, RunConfig, reproduce_command
from .sandbox import SandboxLimits, run_program
from .systems import BuildContext, Completion, build_system, parse_spec
from .summary import RunSummary, group_rows, needed_programs, summarize
from .tasks import REPOSITORY, Task, load_suite, subsample

log = logging.getLogger("fim_server.evaluation")


class RunError(RuntimeError):
    """A run cannot start or continue; the message gives the cause and the fix."""


def resolve_suite(name: str) -> str:
    """Make a ``holes:PATH`` suite absolute, trying the working directory then the repository."""
    if not name.startswith("holes:"):
        return name
    path = Path(name.removeprefix("holes:"))
    if not path.is_absolute() and not path.exists() and (REPOSITORY / path).exists():
        path = REPOSITORY / path
    return f"holes:{path}"


def load_tasks(config: RunConfig) -> tuple[list[Task], dict[str, int]]:
    """Return the selected tasks of every suite and the number available per suite."""
    selected, available = [], {}
    for name in config.suites:
        tasks = load_suite(resolve_suite(name), Path(config.data))
        if tasks:
            available[tasks[0].suite] = len(tasks)
        selected.extend(subsample(tasks, config.limit, config.seed))
    ids = [task.task_id for task in selected]
    if len(ids) != len(set(ids)):
        raise RunError("two suites produced the same task id: list each suite once in --suites")
    return selected, available


def model_fingerprint(model: str) -> str:
    """Identify the exported weights: training step (when recorded) and a digest of the weights file."""
    folder = Path(model)
    weights = folder / "model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12] if weights.exists() else "none"
    step = ""
    if (folder / "training.json").exists():
        step = f"step {json.loads((folder / 'training.json').read_text()).get('step')}, "
    return f"{step}weights {digest}"


def check_resumable(run_dir: Path, config: RunConfig) -> None:
    path = run_dir / "run.json"
    if not path.exists():
        return
    previous = json.loads(path.read_text())
    for name in IDENTITY_FIELDS:
        if previous.get(name) != getattr(config, name):
            raise RunError(
                f"run folder {run_dir} was started with {name}={previous.get(name)!r}, now {getattr(config, name)!r}: "
                "use another --out folder, or delete this one to start over"
            )


EXCEPTION_PREFIX = "exception: "  # marks rows whose system raised; a resumed run tries them again
MAX_CONSECUTIVE_EXCEPTIONS = 3


def latest_rows(rows: list[dict]) -> list[dict]:
    """Keep the last row of each (system spec, task, sample), so a retried row replaces its failure."""
    latest = {(row["system_spec"], row["task_id"], row["sample"]): row for row in rows}
    return list(latest.values())


def _complete_safely(system, task: Task):
    """Return the system's completion, or an error completion when it raises."""
    started = time.perf_counter()
    try:
        return system.complete(task)
    except Exception as exc:  # noqa: BLE001  (one broken position must not end a long run)
        log.error("%s raised on %s: %r", system.name, task.task_id, exc)
        return Completion(text="", latency_ms=(time.perf_counter() - started) * 1000,
                          error=f"{EXCEPTION_PREFIX}{type(exc).__name__}: {exc}")


def generate(config: RunConfig, tasks: list[Task], run_dir: Path) -> None:
    """Complete every task with every system, skipping rows already in completions.jsonl.

    A system that raises gets an error row, which a resumed run tries again; after
    ``MAX_CONSECUTIVE_EXCEPTIONS`` in a row the run stops with a RunError.
    """
    path = run_dir / "completions.jsonl"
    done = {(row["system_spec"], row["task_id"], row["sample"]) for row in latest_rows(read_rows(path))
            if not (row["error"] or "").startswith(EXCEPTION_PREFIX)}
    context = BuildContext(model=config.model, dtype=config.dtype, threads=config.threads,
                           stop_after_s=config.stop_after_s)
    total = len(config.systems) * len(tasks) * config.samples
    with RowWriter(path) as writer, tqdm(total=total, desc="completions", unit="row", dynamic_ncols=True) as progress:
        for spec in config.systems:
            pending = [(task, sample) for task in tasks for sample in range(config.samples)
                       if (spec, task.task_id, sample) not in done]
            progress.update(len(tasks) * config.samples - len(pending))
            if not pending:
                continue
            system = build_system(spec, context)
            log.info("generating %d completions with %s", len(pending), system.name)
            system.warm_up()
            failures = 0
            try:
                for task, sample in pending:
                    completion = _complete_safely(system, task)
                    writer.write({"system": system.name, "system_spec": spec, "kind": system.kind,
                                  "task_id": task.task_id, "suite": task.suite, "sample": sample,
                                  "text": completion.text, "latency_ms": round(completion.latency_ms, 3),
                                  "cpu_ms": None if completion.cpu_ms is None else round(completion.cpu_ms, 3),
                                  "error": completion.error, "info": completion.info})
                    progress.update(1)
                    failures = failures + 1 if (completion.error or "").startswith(EXCEPTION_PREFIX) else 0
                    if failures >= MAX_CONSECUTIVE_EXCEPTIONS:
                        raise RunError(f"{system.name} raised on {failures} positions in a row, last: "
                                       f"{completion.error.removeprefix(EXCEPTION_PREFIX)}; fix it and run the "
                                       "same command again to retry those positions")
            finally:
                system.close()


def execute(config: RunConfig, tasks: list[Task], programs: set[tuple[str, str]], run_dir: Path) -> dict[str, dict]:
    """Run the test program of every (task id, middle) pair not yet cached; return key -> outcome."""
    path = run_dir / "executions.jsonl"
    limits = SandboxLimits(timeout_s=config.sandbox_timeout_s, memory_mb=config.sandbox_memory_mb)
    recorded_limits = {"timeout_s": limits.timeout_s, "memory_mb": limits.memory_mb}
    # An outcome counts only under the limits it ran with: a run resumed with a longer timeout runs
    # the earlier timeouts again. Rows written before limits were recorded run again too.
    cache = {row["key"]: row for row in read_rows(path) if row.get("limits") == recorded_limits}
    by_id = {task.task_id: task for task in tasks}
    pending = {execution_key(task_id, text): (task_id, text) for task_id, text in programs}
    pending = {key: value for key, value in pending.items() if key not in cache}
    if not pending:
        return cache
    log.info("executing %d test programs on %d parallel sandboxes", len(pending), config.jobs)

    def run_one(key: str) -> dict:
        task_id, text = pending[key]
        outcome = run_program(by_id[task_id].program(text), limits)
        return {"key": key, "task_id": task_id, "status": outcome.status, "detail": outcome.detail,
                "duration_s": round(outcome.duration_s, 4), "limits": recorded_limits}

    with RowWriter(path) as writer, concurrent.futures.ThreadPoolExecutor(max_workers=max(1, config.jobs)) as pool, \
            tqdm(total=len(pending), desc="executions", unit="program", dynamic_ncols=True) as progress:
        for row in pool.map(run_one, sorted(pending)):
            writer.write(row)
            cache[row["key"]] = row
            progress.update(1)
    return cache


def save_config(run_dir: Path, config: RunConfig, extra: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.json").write_text(json.dumps(asdict(config) | extra, indent=1) + "\n")


def write_outputs(summary: RunSummary, config: RunConfig, run_dir: Path, report_dir: Path,
                  missing: tuple[int, int] = (0, 0)) -> None:
    """Write battles.jsonl to the run folder and the report, plots and summary.json to ``report_dir``.

    ``missing`` is (completions missing, completions expected), for a run that stopped early.
    """
    with open(run_dir / "battles.jsonl", "w", encoding="utf-8") as handle:
        for battle in summary.battles:
            handle.write(json.dumps(asdict(battle)) + "\n")
    report_dir.mkdir(parents=True, exist_ok=True)
    plots = write_plots(summary, report_dir, config.deadline_ms)
    command = reproduce_command(config, run_dir, report_dir)
    (report_dir / "report.md").write_text(render_report(summary, config, plots, report_dir.name, command, missing),
                                          encoding="utf-8")
    machine_readable = {
        "config": asdict(config), "environment": summary.environment, "selected": summary.selected,
        "completions_missing": missing[0], "completions_expected": missing[1],
        "available": summary.available, "scores": [asdict(score) for score in summary.scores],
        "latency": {name: {k: v for k, v in asdict(info).items() if k != "latencies_ms"}
                    for name, info in summary.latency.items()},
        "ratings": [asdict(rating) for rating in summary.ratings],
        "agreement": None if summary.agreement is None else {
            "votes": summary.agreement.votes, "decided": summary.agreement.decided,
            "agreed": summary.agreement.agreed, "first_accepted": summary.agreement.first_accepted},
    }
    (report_dir / "summary.json").write_text(json.dumps(machine_readable, indent=1) + "\n", encoding="utf-8")


def judge_and_report(config: RunConfig, tasks: list[Task], available: dict[str, int], environment: dict,
                     run_dir: Path, report_dir: Path) -> RunSummary:
    """Execute what needs executing, judge every battle and write the report."""
    rows = latest_rows(read_rows(run_dir / "completions.jsonl"))
    known = {task.task_id for task in tasks}
    strangers = sorted({row["task_id"] for row in rows} - known)
    if strangers:
        raise RunError(f"completions for {len(strangers)} positions not in the selected tasks (first: {strangers[0]}): "
                       "the data or the suite settings changed since the run; rejudge with the original --data")
    expected = {(spec, task.task_id, sample) for spec in config.systems for task in tasks
                for sample in range(config.samples)}
    present = {(row["system_spec"], row["task_id"], row["sample"]) for row in rows
               if not (row["error"] or "").startswith(EXCEPTION_PREFIX)} & expected
    if not present:
        raise RunError(f"{run_dir} has no completions yet: run the same `fim-server eval run` command again to "
                       "resume it")
    missing = (len(expected) - len(present), len(expected))
    if missing[0]:
        log.warning("%d of %d completions are missing (the run stopped early, or a system raised on them); the "
                    "report covers the rest. Run the same `fim-server eval run` command again to finish it", *missing)
    programs = needed_programs(tasks, group_rows(rows, config.systems), config.deadline_ms)
    executions = execute(config, tasks, programs, run_dir)
    data = Path(config.data)
    agreement = judge_agreement(load_arena_votes(data), margin=config.margin) if arena_path(data).exists() else None
    summary = summarize(tasks=tasks, rows=rows, executions=executions, specs=config.systems,
                        deadline_ms=config.deadline_ms, margin=config.margin, samples=config.samples,
                        seed=config.seed, bootstrap_rounds=config.bootstrap_rounds, environment=environment,
                        available=available, agreement=agreement)
    write_outputs(summary, config, run_dir, report_dir, missing)
    log.info("report written to %s", report_dir / "report.md")
    return summary


def run_evaluation(config: RunConfig, run_dir: Path, report_dir: Path) -> RunSummary:
    """Run (or resume) an evaluation: completions, executions, battles, report."""
    tasks, available = load_tasks(config)
    if any(parse_spec(spec)[0] == "pipeline" for spec in config.systems):
        config.model_fingerprint = model_fingerprint(config.model)
    check_resumable(run_dir, config)
    environment = describe_environment(config.model)
    save_config(run_dir, config, {"environment": environment, "available": available})
    generate(config, tasks, run_dir)
    environment["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    save_config(run_dir, config, {"environment": environment, "available": available})
    return judge_and_report(config, tasks, available, environment, run_dir, report_dir)


def rejudge(run_dir: Path, report_dir: Path, overrides: dict) -> RunSummary:
    """Judge a finished or interrupted run again from its saved completions; no model runs."""
    path = run_dir / "run.json"
    if not path.exists():
        raise RunError(f"{path} not found: pass the --out folder of an earlier `fim-server eval run`")
    stored = json.loads(path.read_text())
    config = RunConfig.from_json(stored)
    for name, value in overrides.items():
        if value is not None:
            setattr(config, name, value)
    tasks, available = load_tasks(config)
    return judge_and_report(config, tasks, available, stored.get("environment", {}), run_dir, report_dir)


__all__ = ["DEFAULT_SUITES", "DEFAULT_SYSTEMS", "RunConfig", "RunError", "execute", "generate", "latest_rows",
           "load_tasks", "rejudge", "reproduce_command", "run_evaluation"]
