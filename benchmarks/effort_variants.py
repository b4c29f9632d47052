"""Line completions on held-out code with effort profiles and variants of them, on the same cursors.

Run ``nice -n 5 .venv/bin/python benchmarks/effort_variants.py`` (needs the
corpus from ``fim-server corpus --out work/corpus``). Each ``--variant``
changes fields of one effort profile, for example
``--variant high:length_factors=1,0.75,1.25,0.5`` or
``--variant medium:rank_by_fit=false``; each ``--effort`` runs a profile as
shipped. Every profile completes the same held-out Python cursors through the
completion pipeline in line mode: half at the start of a line, half after a few
typed characters. Per profile it prints the exact match and mean edit
similarity of the shown line over all cursors, where an empty suggestion scores
0. It also prints how many cursors got a suggestion, the p50 fill time and the
mean time of the engine's ranking call.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from confidence_floor import cursors
from model_bench import require_held_out

from fim_server.engine.engine import DiffusionEngine
from fim_server.engine.types import EFFORTS, EffortProfile
from fim_server.evaluation.metrics import match_scores
from fim_server.pipeline import CompletionPipeline, CompletionRequest


def parse_value(text: str, current):
    """Return ``text`` as the type of the profile field's current value."""
    if isinstance(current, bool):
        if text not in ("true", "false"):
            raise ValueError(f"use true or false, not {text!r}")
        return text == "true"
    if isinstance(current, tuple):
        return tuple(float(part) for part in text.split(","))
    if text == "none":
        return None
    if isinstance(current, int) or (current is None and text.isdigit()):
        return int(text)
    return float(text)


def parse_variant(spec: str) -> EffortProfile:
    """Return the profile that ``EFFORT:FIELD=VALUE[;FIELD=VALUE...]`` describes."""
    effort, _, changes = spec.partition(":")
    if effort not in EFFORTS or not changes:
        raise ValueError(f"invalid variant {spec!r}: use EFFORT:FIELD=VALUE with an effort of {', '.join(EFFORTS)}")
    profile = EFFORTS[effort]
    fields = {field.name for field in dataclasses.fields(EffortProfile)} - {"name"}
    updates = {}
    for change in changes.split(";"):
        name, _, value = change.partition("=")
        if name not in fields:
            raise ValueError(f"unknown field {name!r} in variant {spec!r}: the fields are {', '.join(sorted(fields))}")
        try:
            updates[name] = parse_value(value, getattr(profile, name))
        except ValueError as exc:
            raise ValueError(f"invalid value {value!r} for {name} in variant {spec!r}: {exc}") from exc
    return dataclasses.replace(profile, name=spec, **updates)


def score(pipeline: CompletionPipeline, holes, effort: str) -> str:
    exact = similarity = shown = 0.0
    times, rank_ms = [], []
    for prefix, suffix, body in holes:
        started = time.perf_counter()
        result = pipeline.complete(CompletionRequest(prefix=prefix, suffix=suffix, language="python", effort=effort,
                                                     mode="line"))
        times.append((time.perf_counter() - started) * 1000)
        rank_ms.append(result.timings_ms.get("fill.rank", 0.0))
        if not result.text.strip():
            continue
        shown += 1
        same, sim = match_scores(result.text.split("\n")[0], body, single_line=True)
        exact += same
        similarity += sim
    n = len(holes)
    return (f"exact {exact / n:6.1%}  edit sim. {similarity / n:.3f}  shown {shown / n:6.1%}  "
            f"p50 {statistics.median(times):6.1f} ms  ranking {statistics.mean(rank_ms):5.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/fim-diffusion-small"))
    parser.add_argument("--corpus", type=Path, default=Path("work/corpus"))
    parser.add_argument("--positions", type=int, default=200, help="held-out cursors")
    parser.add_argument("--effort", action="append", default=[], choices=sorted(EFFORTS),
                        help="an effort as shipped (repeatable)")
    parser.add_argument("--variant", action="append", default=[], metavar="EFFORT:FIELD=VALUE[;FIELD=VALUE]",
                        help="an effort with changed profile fields (repeatable)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)

    try:
        variants = [parse_variant(spec) for spec in args.variant]
    except ValueError as exc:
        parser.error(str(exc))
    if not args.effort and not variants:
        parser.error("give at least one --effort or --variant")
    require_held_out(parser, args.corpus)

    torch.manual_seed(0)
    with open(args.corpus / "valid.jsonl", encoding="utf-8") as handle:
        texts = [row["text"] for row in map(json.loads, handle) if row["language"] == "python"]
    holes = cursors(texts, args.positions, args.seed)
    pipeline = CompletionPipeline(DiffusionEngine(args.model, threads=args.threads))
    print(f"model {args.model}, {len(holes)} held-out cursors (seed {args.seed}), line mode")

    width = max(len(name) for name in [*args.effort, *(variant.name for variant in variants)])
    for name in args.effort:
        print(f"{name:{width}s}  {score(pipeline, holes, name)}", flush=True)
    for variant in variants:
        EFFORTS[variant.name] = variant
        try:
            print(f"{variant.name:{width}s}  {score(pipeline, holes, variant.name)}", flush=True)
        finally:
            del EFFORTS[variant.name]
    pipeline.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
