"""Line completions on held-out code with and without each effort's commit window.

Run ``nice -n 5 .venv/bin/python benchmarks/commit_window.py`` (needs the corpus
from ``fim-server corpus --out work/corpus``). For each effort it fills the same
held-out line holes twice: with the effort's profile, and with that profile
minus its commit window, so that every masked slot may be committed at each
step. Per variant it prints the exact match and edit similarity of the first
line against the removed line, how often the first word matches, mean model
steps and the p50 fill time. Each fill is a cold context. The best candidate by
confidence is scored, as the engine's callers rank them.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import torch
from model_bench import line_holes, require_held_out

from fim_server.engine.engine import DiffusionEngine
from fim_server.engine.types import EFFORTS
from fim_server.evaluation.metrics import match_scores
from fim_server.training.train import load_texts


def score(engine: DiffusionEngine, holes, effort: str, canvas: int) -> str:
    exact = similarity = first_word = steps = 0.0
    times = []
    for prefix, suffix, body in holes:
        started = time.perf_counter()
        result = engine.fill(prefix, suffix, canvas_tokens=canvas, effort=effort)
        times.append((time.perf_counter() - started) * 1000)
        text = max(result.candidates, key=lambda c: c.confidence).text
        same, sim = match_scores(text, body, single_line=True)
        exact += same
        similarity += sim
        steps += result.steps
        words, expected = text.split(), body.split()
        first_word += bool(words) and words[0] == expected[0]
    n = len(holes)
    return (f"exact {exact / n:6.1%}  edit sim. {similarity / n:.3f}  first word {first_word / n:6.1%}  "
            f"steps {steps / n:4.1f}  p50 {statistics.median(times):6.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/fim-diffusion-small"))
    parser.add_argument("--corpus", type=Path, default=Path("work/corpus"))
    parser.add_argument("--positions", type=int, default=100, help="held-out line holes")
    parser.add_argument("--canvas", type=int, default=16, help="canvas hint in tokens (one line)")
    parser.add_argument("--efforts", nargs="+", default=["instant", "low", "medium"], choices=sorted(EFFORTS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    require_held_out(parser, args.corpus)
    torch.manual_seed(0)
    engine = DiffusionEngine(args.model, threads=args.threads)
    holes = line_holes(load_texts(args.corpus / "valid.jsonl"), args.positions, args.seed)
    print(f"model {args.model}, {len(holes)} held-out line holes (seed {args.seed}), canvas {args.canvas} tokens")
    for effort in args.efforts:
        profile = EFFORTS[effort]
        unwindowed = f"{effort}-no-window"
        EFFORTS[unwindowed] = dataclasses.replace(profile, name=unwindowed, window=None)
        try:
            print(f"{effort:8s} window {str(profile.window):4s} {score(engine, holes, effort, args.canvas)}", flush=True)
            print(f"{effort:8s} window none {score(engine, holes, unwindowed, args.canvas)}", flush=True)
        finally:
            del EFFORTS[unwindowed]
    return 0


if __name__ == "__main__":
    sys.exit(main())
