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
import shlex
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from tqdm import tqdm

from ..config import BUNDLED_MODEL
from .arena import judge_agreement
from .datasets import arena_path, load_arena_votes
from .environment import describe_environment
from .plots import write_plots
from .records import RowWriter, execution_key, read_rows
from .report import render_report
from .sandbox import SandboxLimits, run_program
from .systems import BuildContext, build_system, parse_spec
from .summary import RunSummary, group_rows, needed_programs, summarize
from .tasks import DEFAULT_DATA, Task, load_suite, subsample

log = logging.getLogger("fim_server.evaluation")

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_SUITES = ["humaneval-single", "humaneval-multi", "humaneval-span", "santacoder", "cceval", "copilot-arena",
                  "holes:eval/holes/fim-server.jsonl", "holes:eval/holes/python-stdlib.jsonl"]
DEFAULT_SYSTEMS = ["pipeline:instant", "pipeline:low", "pipeline:medium", "pipeline:high", "empty", "repeat-line",
                   "reference"]
# Settings that decide which rows a run folder holds; a resumed run must keep them.
IDENTITY_FIELDS = ("suites", "limit", "seed", "samples", "model_fingerprint")


class RunError(RuntimeError):
    """A run cannot start or continue; the message gives the cause and the fix."""


@dataclass(kw_only=True)
class RunConfig:
    suites: list[str] = field(default_factory=lambda: list(DEFAULT_SUITES))
    systems: list[str] = field(default_factory=lambda: list(DEFAULT_SYSTEMS))
    data: str = ""
    model: str = ""
    dtype: str = "bfloat16"
    threads: int | None = None
    limit: int | None = 15  # tasks per suite, drawn with ``seed``; None takes all
    seed: int = 0
    samples: int = 1  # completions per (system, task); pass@k needs samples >= k
    deadline_ms: float = 1000.0
    stop_after_s: float = 30.0  # model calls still running after this are stopped (recorded as errors)
    margin: float = 0.1
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    sandbox_timeout_s: float = 5.0
    sandbox_memory_mb: int = 1024
    bootstrap_rounds: int = 200
    model_fingerprint: str = ""
    command: str = ""

    @classmethod
    def from_json(cls, data: dict) -> RunConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


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


def generate(config: RunConfig, tasks: list[Task], run_dir: Path) -> None:
    """Complete every task with every system, skipping rows already in completions.jsonl."""
    path = run_dir / "completions.jsonl"
    done = {(row["system_spec"], row["task_id"], row["sample"]) for row in read_rows(path)}
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
            try:
                for task, sample in pending:
                    completion = system.complete(task)
                    writer.write({"system": system.name, "system_spec": spec, "kind": system.kind,
                                  "task_id": task.task_id, "suite": task.suite, "sample": sample,
                                  "text": completion.text, "latency_ms": round(completion.latency_ms, 3),
                                  "cpu_ms": None if completion.cpu_ms is None else round(completion.cpu_ms, 3),
                                  "error": completion.error, "info": completion.info})
                    progress.update(1)
            finally:
                system.close()


def execute(config: RunConfig, tasks: list[Task], programs: set[tuple[str, str]], run_dir: Path) -> dict[str, dict]:
    """Run the test program of every (task id, middle) pair not yet cached; return key -> outcome."""
    path = run_dir / "executions.jsonl"
    cache = {row["key"]: row for row in read_rows(path)}
    by_id = {task.task_id: task for task in tasks}
    pending = {execution_key(task_id, text): (task_id, text) for task_id, text in programs}
    pending = {key: value for key, value in pending.items() if key not in cache}
    if not pending:
        return cache
    limits = SandboxLimits(timeout_s=config.sandbox_timeout_s, memory_mb=config.sandbox_memory_mb)
    log.info("executing %d test programs on %d parallel sandboxes", len(pending), config.jobs)

    def run_one(key: str) -> dict:
        task_id, text = pending[key]
        outcome = run_program(by_id[task_id].program(text), limits)
        return {"key": key, "task_id": task_id, "status": outcome.status, "detail": outcome.detail,
                "duration_s": round(outcome.duration_s, 4)}

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


def _shown_path(path: Path | str) -> str:
    """Return ``path`` relative to the repository when it is inside it, so commands read the same anywhere."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(REPOSITORY)) if resolved.is_relative_to(REPOSITORY) else str(resolved)


def reproduce_command(config: RunConfig, run_dir: Path, report_dir: Path) -> str:
    """Return a ``fim-server eval run`` command that selects the same positions and settings."""
    defaults = RunConfig()
    words = ["fim-server", "eval", "run"]
    if config.suites != defaults.suites:
        words += ["--suites", *config.suites]
    if config.systems != defaults.systems:
        words += ["--systems", *config.systems]
    if Path(config.data).resolve() != DEFAULT_DATA.resolve():
        words += ["--data", _shown_path(config.data)]
    if config.model and Path(config.model).resolve() != BUNDLED_MODEL.resolve():
        words += ["--model", _shown_path(config.model)]
    words += ["--limit", "all" if config.limit is None else str(config.limit), "--seed", str(config.seed)]
    optional = [("--samples", config.samples, defaults.samples), ("--threads", config.threads, None),
                ("--dtype", config.dtype, defaults.dtype), ("--deadline-ms", config.deadline_ms, defaults.deadline_ms),
                ("--margin", config.margin, defaults.margin), ("--stop-after", config.stop_after_s, defaults.stop_after_s)]
    for flag, value, default in optional:
        if value is not None and value != default:
            words += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    words += ["--out", _shown_path(run_dir), "--report", _shown_path(report_dir)]
    return shlex.join(words)


def write_outputs(summary: RunSummary, config: RunConfig, run_dir: Path, report_dir: Path) -> None:
    """Write battles.jsonl to the run folder and the report, plots and summary.json to ``report_dir``."""
    with open(run_dir / "battles.jsonl", "w", encoding="utf-8") as handle:
        for battle in summary.battles:
            handle.write(json.dumps(asdict(battle)) + "\n")
    report_dir.mkdir(parents=True, exist_ok=True)
    plots = write_plots(summary, report_dir, config.deadline_ms)
    command = reproduce_command(config, run_dir, report_dir)
    (report_dir / "report.md").write_text(render_report(summary, config, plots, report_dir.name, command),
                                          encoding="utf-8")
    machine_readable = {
        "config": asdict(config), "environment": summary.environment, "selected": summary.selected,
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
    rows = read_rows(run_dir / "completions.jsonl")
    known = {task.task_id for task in tasks}
    strangers = sorted({row["task_id"] for row in rows} - known)
    if strangers:
        raise RunError(f"completions for {len(strangers)} positions not in the selected tasks (first: {strangers[0]}): "
                       "the data or the suite settings changed since the run; rejudge with the original --data")
    programs = needed_programs(tasks, group_rows(rows, config.systems), config.deadline_ms)
    executions = execute(config, tasks, programs, run_dir)
    data = Path(config.data)
    agreement = judge_agreement(load_arena_votes(data), margin=config.margin) if arena_path(data).exists() else None
    summary = summarize(tasks=tasks, rows=rows, executions=executions, specs=config.systems,
                        deadline_ms=config.deadline_ms, margin=config.margin, samples=config.samples,
                        seed=config.seed, bootstrap_rounds=config.bootstrap_rounds, environment=environment,
                        available=available, agreement=agreement)
    write_outputs(summary, config, run_dir, report_dir)
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


__all__ = ["DEFAULT_SUITES", "DEFAULT_SYSTEMS", "RunConfig", "RunError", "execute", "generate", "load_tasks",
           "rejudge", "run_evaluation"]
