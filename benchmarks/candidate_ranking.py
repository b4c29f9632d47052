"""Line completions on held-out code with candidates ranked by fit against ranked by confidence.

Run ``nice -n 5 .venv/bin/python benchmarks/candidate_ranking.py`` (needs the
corpus from ``fim-server corpus --out work/corpus``). Efforts that denoise
several candidates (medium, high) pick the one they show either by its fit, the
prefix head's left-to-right score of the candidate and the start of the suffix,
or by the sampler's confidence. Both variants complete the same held-out Python
cursors through the completion pipeline in line mode: half at the start of a
line, half after a few typed characters. Per variant it prints the exact match
and mean edit similarity of the shown line over all cursors, where an empty
suggestion scores 0. It also prints how many cursors got a suggestion, the p50
fill time and the mean time of the ranking step.
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
from fim_server.engine.types import EFFORTS
from fim_server.evaluation.metrics import match_scores
from fim_server.pipeline import CompletionPipeline, CompletionRequest


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
    parser.add_argument("--efforts", nargs="+", default=["medium", "high"],
                        choices=sorted(name for name, profile in EFFORTS.items() if profile.candidates > 1))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    require_held_out(parser, args.corpus)
    torch.manual_seed(0)
    with open(args.corpus / "valid.jsonl", encoding="utf-8") as handle:
        texts = [row["text"] for row in map(json.loads, handle) if row["language"] == "python"]
    holes = cursors(texts, args.positions, args.seed)
    pipeline = CompletionPipeline(DiffusionEngine(args.model, threads=args.threads))
    print(f"model {args.model}, {len(holes)} held-out cursors (seed {args.seed}), line mode")
    for effort in args.efforts:
        profile = EFFORTS[effort]
        other = f"{effort}-other-ranking"
        EFFORTS[other] = dataclasses.replace(profile, name=other, rank_by_fit=not profile.rank_by_fit)
        by_fit, by_confidence = (effort, other) if profile.rank_by_fit else (other, effort)
        try:
            print(f"{effort:8s} by fit        {score(pipeline, holes, by_fit)}", flush=True)
            print(f"{effort:8s} by confidence {score(pipeline, holes, by_confidence)}", flush=True)
        finally:
            del EFFORTS[other]
    pipeline.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
