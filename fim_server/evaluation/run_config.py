"""Settings of an evaluation run and the command line that reproduces them."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..config import BUNDLED_MODEL
from .tasks import DEFAULT_DATA, REPOSITORY

DEFAULT_SUITES = ["humaneval-single", "humaneval-multi", "humaneval-span", "santacoder", "cceval", "copilot-arena",
                  "holes:eval/holes/fim-server.jsonl", "holes:eval/holes/python-stdlib.jsonl"]
DEFAULT_SYSTEMS = ["pipeline:instant", "pipeline:low", "pipeline:medium", "pipeline:high", "empty", "repeat-line",
                   "reference"]
# Settings that decide which rows a run folder holds; a resumed run must keep them.
IDENTITY_FIELDS = ("suites", "limit", "seed", "samples", "model_fingerprint")


@dataclass(kw_only=True)
class RunConfig:
    suites: list[str] = field(default_factory=lambda: list(DEFAULT_SUITES))
    systems: list[str] = field(default_factory=lambda: list(DEFAULT_SYSTEMS))
    data: str = ""
    model: str = ""
    dtype: str = "auto"
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
                ("--margin", config.margin, defaults.margin), ("--stop-after", config.stop_after_s, defaults.stop_after_s),
                ("--sandbox-timeout", config.sandbox_timeout_s, defaults.sandbox_timeout_s),
                ("--sandbox-memory", config.sandbox_memory_mb, defaults.sandbox_memory_mb),
                ("--bootstrap", config.bootstrap_rounds, defaults.bootstrap_rounds)]
    # --jobs is left out: it sets how many test programs run at once on this machine, not what they score.
    for flag, value, default in optional:
        if value is not None and value != default:
            words += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    words += ["--out", _shown_path(run_dir), "--report", _shown_path(report_dir)]
    return shlex.join(words)


__all__ = ["DEFAULT_SUITES", "DEFAULT_SYSTEMS", "IDENTITY_FIELDS", "RunConfig", "reproduce_command"]
