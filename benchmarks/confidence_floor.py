"""How well a completion's confidence predicts that it is right, on held-out code.

Run ``nice -n 5 .venv/bin/python benchmarks/confidence_floor.py`` (needs the
corpus from ``fim-server corpus --out work/corpus``). It runs the completion
pipeline, as the language server does, to complete held-out Python lines. Half
of the cursors sit at the start of a line, half after a few typed characters.
For each effort and a range of confidence floors, it prints the share of
cursors that would still show a suggestion. It also prints the exact-match rate
and mean edit similarity of the suggestions shown, so that a floor can be
chosen from measured figures. It also prints the rank correlation between
confidence and edit similarity, and the same figures for suggestions that add
syntax errors (by tree-sitter) against those that add none.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import torch
from model_bench import line_holes, require_held_out

from fim_server.engine.engine import DiffusionEngine
from fim_server.engine.types import EFFORTS
from fim_server.evaluation.metrics import match_scores
from fim_server.pipeline import CompletionPipeline, CompletionRequest

FLOORS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def cursors(texts: list[str], count: int, seed: int) -> list[tuple[str, str, str]]:
    """(prefix, suffix, expected rest of the line): line starts, and lines with a few characters typed."""
    rng = random.Random(seed + 1)
    out = []
    for index, (prefix, suffix, body) in enumerate(line_holes(texts, count, seed)):
        if index % 2:
            typed = rng.randint(1, max(1, len(body) // 2))
            prefix, body = prefix + body[:typed], body[typed:]
        out.append((prefix, suffix, body))
    return out


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2
        i = j + 1
    return out


def spearman(xs: list[float], ys: list[float]) -> float:
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var if var else 0.0


def measure(pipeline: CompletionPipeline, holes, effort: str) -> list[tuple[float, float, float, int]]:
    """Return (confidence, exact, edit similarity, syntax errors added) of each non-empty suggestion.

    Empty suggestions count as not shown.
    """
    rows = []
    for prefix, suffix, body in holes:
        result = pipeline.complete(CompletionRequest(prefix=prefix, suffix=suffix, language="python", effort=effort,
                                                     mode="line"))
        if not result.text.strip():
            continue
        exact, similarity = match_scores(result.text.split("\n")[0], body, single_line=True)
        chosen = next(info for info in result.candidates if info.text == result.text and info.rejected is None)
        rows.append((result.confidence, float(exact), similarity, chosen.syntax_errors_added or 0))
    return rows


def report_syntax(rows: list[tuple[float, float, float, int]], total: int) -> None:
    print("  syntax errors added  shown   exact (shown)  edit sim. (shown)  mean confidence")
    for label, group in (("none", [r for r in rows if r[3] <= 0]), ("one or more", [r for r in rows if r[3] > 0])):
        if not group:
            print(f"  {label:>19}  {0:6.1%}")
            continue
        count = len(group)
        print(f"  {label:>19}  {count / total:6.1%}  {sum(r[1] for r in group) / count:12.1%}  "
              f"{sum(r[2] for r in group) / count:17.3f}  {sum(r[0] for r in group) / count:15.3f}")


def report(rows: list[tuple[float, float, float]], total: int) -> None:
    print("  floor  shown   exact (shown)  edit sim. (shown)  exact (all cursors)")
    for floor in FLOORS:
        kept = [row for row in rows if row[0] >= floor]
        if not kept:
            print(f"  {floor:5.2f}  {0:6.1%}")
            continue
        exact = sum(row[1] for row in kept)
        similarity = sum(row[2] for row in kept) / len(kept)
        print(f"  {floor:5.2f}  {len(kept) / total:6.1%}  {exact / len(kept):12.1%}  {similarity:17.3f}  "
              f"{exact / total:18.1%}")
    if len(rows) > 2:
        print(f"  rank correlation of confidence and edit similarity: "
              f"{spearman([r[0] for r in rows], [r[2] for r in rows]):+.3f} over {len(rows)} suggestions")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/fim-diffusion-small"))
    parser.add_argument("--corpus", type=Path, default=Path("work/corpus"))
    parser.add_argument("--positions", type=int, default=200, help="held-out cursors")
    parser.add_argument("--efforts", nargs="+", default=["instant", "low"], choices=sorted(EFFORTS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    require_held_out(parser, args.corpus)
    torch.manual_seed(0)
    with open(args.corpus / "valid.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    texts = [row["text"] for row in rows if row["language"] == "python"]
    holes = cursors(texts, args.positions, args.seed)
    pipeline = CompletionPipeline(DiffusionEngine(args.model, threads=args.threads))
    print(f"model {args.model}, {len(holes)} held-out cursors (seed {args.seed})")
    for effort in args.efforts:
        rows = measure(pipeline, holes, effort)
        print(f"effort {effort}: {len(rows)} of {len(holes)} cursors got a non-empty suggestion")
        report(rows, len(holes))
        report_syntax(rows, len(holes))
    pipeline.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
