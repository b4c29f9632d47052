"""``fim-server eval``: run, rejudge, cut holes, check the judge against human votes."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

from ..arguments import number_argument, positive_float, positive_int
from ..engine.dtypes import AUTO_DTYPE_HELP, DTYPE_NAMES
from .tasks import DEFAULT_DATA, DataError, SUITES

log = logging.getLogger("fim_server.evaluation")

_margin = number_argument(float, lambda number: 0 <= number <= 1, "use an edit-similarity gap from 0 to 1")
_positive_limit = number_argument(int, lambda number: number >= 1, "use a whole number >= 1 or 'all'")


def _limit(value: str) -> int | None:
    return None if value == "all" else _positive_limit(value)


def add_run_parser(sub) -> None:
    from .runner import DEFAULT_SUITES, DEFAULT_SYSTEMS

    run = sub.add_parser("run", help="complete, execute, judge and report (resumes an interrupted run)")
    run.add_argument("--suites", nargs="+", default=DEFAULT_SUITES, metavar="SUITE",
                     help=f"suites: {', '.join(sorted(SUITES))}, or holes:PATH (default: all of them and the "
                          "committed hole files)")
    run.add_argument("--systems", nargs="+", default=DEFAULT_SYSTEMS, metavar="SPEC",
                     help="space-separated system specs such as `pipeline:low`, `pipeline:effort=high,model=DIR`, "
                          "`http:url=URL,model=NAME`, `empty`, `repeat-line` or `reference` (default: every effort "
                          "level and the three reference systems)")
    run.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"benchmark data folder (default: {DEFAULT_DATA})")
    run.add_argument("--model", help="model folder for pipeline systems (default: the configured or bundled model)")
    run.add_argument("--dtype", choices=list(DTYPE_NAMES), help=f"weights dtype (default auto; {AUTO_DTYPE_HELP})")
    run.add_argument("--threads", type=int, help="torch CPU threads for the model (default: torch decides)")
    run.add_argument("--limit", type=_limit, default=15,
                     help="positions per suite, drawn with --seed; 'all' takes every position (default 15)")
    run.add_argument("--seed", type=int, default=0, help="seed for subsampling and display order (default 0)")
    run.add_argument("--samples", type=positive_int, default=1, help="completions per system and position, for pass@k (default 1)")
    _add_judge_options(run)
    run.add_argument("--stop-after", type=positive_float, default=30.0,
                     help="seconds after which a completion is stopped and recorded as an error (default 30)")
    run.add_argument("--bootstrap", type=positive_int, default=200, help="bootstrap rounds for rating intervals (default 200)")
    run.add_argument("--sandbox-timeout", type=positive_float, default=5.0, help="wall-clock seconds per test program (default 5)")
    run.add_argument("--sandbox-memory", type=positive_int, default=1024, help="address-space limit per test program in MiB (default 1024)")
    run.add_argument("--out", type=Path, default=Path("eval/runs/default"),
                     help="run folder for completions and caches; rerun with the same folder to resume "
                          "(default eval/runs/default)")
    run.add_argument("--report", type=Path, help="folder for report.md, plots and summary.json (default: --out)")


def _add_judge_options(parser: argparse.ArgumentParser, defaults: bool = True) -> None:
    parser.add_argument("--deadline-ms", type=positive_float, default=1000.0 if defaults else None,
                        help="a completion slower than this counts as not shown (default 1000)")
    parser.add_argument("--margin", type=_margin, default=0.1 if defaults else None,
                        help="edit-similarity gap that decides a battle (default 0.1)")
    parser.add_argument("--jobs", type=positive_int, default=None,
                        help="test programs run in parallel (default: the number of CPU cores)")


def command_run(args) -> int:
    from ..config import load_settings
    from ..engine.dtypes import resolve_dtype
    from .runner import RunConfig, run_evaluation
    from .systems import parse_spec

    for spec in args.systems:
        parse_spec(spec)
    model, dtype = args.model or "", args.dtype or "auto"
    if any(parse_spec(spec)[0] == "pipeline" for spec in args.systems):
        settings = load_settings({"model": args.model, "dtype": args.dtype, "threads": args.threads})
        # Recorded concretely, so that a resumed run on another CPU keeps the dtype it started with.
        model, dtype = settings.model, resolve_dtype(settings.dtype)
    config = RunConfig(suites=args.suites, systems=args.systems, data=str(args.data.resolve()), model=model,
                       dtype=dtype, threads=args.threads, limit=args.limit, seed=args.seed,
                       samples=args.samples, deadline_ms=args.deadline_ms, margin=args.margin,
                       stop_after_s=args.stop_after, bootstrap_rounds=args.bootstrap,
                       sandbox_timeout_s=args.sandbox_timeout, sandbox_memory_mb=args.sandbox_memory,
                       command=shlex.join(["fim-server", "eval", *args.argv]))
    if args.jobs:
        config.jobs = args.jobs
    run_evaluation(config, args.out, args.report or args.out)
    print(f"report: {(args.report or args.out) / 'report.md'}")
    return 0


def command_rejudge(args) -> int:
    from .runner import rejudge

    overrides = {"deadline_ms": args.deadline_ms, "margin": args.margin, "jobs": args.jobs,
                 "data": str(args.data.resolve()) if args.data else None}
    rejudge(args.run, args.report or args.run, overrides)
    print(f"report: {(args.report or args.run) / 'report.md'}")
    return 0


def command_holes(args) -> int:
    from .holes import corpus_digests, cut_holes, save_holes

    skip = frozenset().union(*(corpus_digests(path) for path in args.skip_files_in))
    only = frozenset().union(*(corpus_digests(path) for path in args.only_files_in)) if args.only_files_in else None
    holes = cut_holes(args.source, count=args.count, seed=args.seed, skip_digests=skip, only_digests=only)
    save_holes(holes, args.out)
    kinds = {kind: sum(hole.kind == kind for hole in holes) for kind in ("line", "block", "span")}
    print(f"wrote {len(holes)} holes to {args.out} ({', '.join(f'{k} {v}' for k, v in kinds.items())})")
    return 0


def command_agreement(args) -> int:
    from .arena import judge_agreement
    from .datasets import load_arena_votes

    result = judge_agreement(load_arena_votes(args.data), margin=args.margin)
    print(f"votes {result.votes}; the user accepted the first completion in {result.first_accepted}")
    print(f"judge decided {result.decided}, agreed {result.agreed}, tied {result.ties}")
    if result.decided:
        print(f"agreement when decided: {100 * result.agreed / result.decided:.1f}%")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fim-server eval", description="Offline, arena-style evaluation.")
    sub = parser.add_subparsers(dest="action", required=True)
    add_run_parser(sub)

    again = sub.add_parser("rejudge", help="judge a run again from its saved completions (no model runs)")
    again.add_argument("run", type=Path, help="the --out folder of an earlier run")
    again.add_argument("--report", type=Path, help="folder for the new report (default: the run folder)")
    again.add_argument("--data", type=Path, help="benchmark data folder, when it moved since the run")
    _add_judge_options(again, defaults=False)

    holes = sub.add_parser("holes", help="cut FIM holes from a local source folder into a JSON-lines file")
    holes.add_argument("source", type=Path, help="folder to cut holes from")
    holes.add_argument("--out", type=Path, required=True, help="hole file to write (JSON lines)")
    holes.add_argument("--count", type=int, default=60, help="number of holes, kinds in equal shares (default 60)")
    holes.add_argument("--seed", type=int, default=0, help="seed for every random choice (default 0)")
    holes.add_argument("--skip-files-in", type=Path, nargs="*", default=[], metavar="CORPUS_JSONL",
                       help="skip files whose exact text is a record of these corpus files (e.g. training data)")
    holes.add_argument("--only-files-in", type=Path, nargs="*", default=[], metavar="CORPUS_JSONL",
                       help="keep only files whose exact text is a record of these corpus files (e.g. held-out data)")

    agreement = sub.add_parser("agreement", help="compare the no-reference judge with the Copilot Arena votes")
    agreement.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"benchmark data folder (default: {DEFAULT_DATA})")
    agreement.add_argument("--margin", type=float, default=0.1, help="edit-similarity margin (default 0.1)")
    return parser


HANDLERS = {"run": command_run, "rejudge": command_rejudge, "holes": command_holes, "agreement": command_agreement}


def main(argv: list[str] | None = None) -> int:
    from ..config import ConfigError
    from .runner import RunError
    from .systems import SpecError

    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return HANDLERS[args.action](args)
    except (DataError, RunError, SpecError, ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume where it stopped", file=sys.stderr)
        return 130


__all__ = ["build_parser", "main"]
