"""Run the completion pipeline over the real editor cursor positions of the Copilot Arena sample.

Prints how many positions produced a completion, how many were rejected and why,
the language mix, and p50/p95 pipeline latency. Usage:

    python benchmarks/arena_positions.py [--data ../shared/data] [--effort low] [--model PATH]
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fim_server.config import load_settings  # noqa: E402
from fim_server.context.languages import EXTENSIONS  # noqa: E402
from fim_server.engine.engine import DiffusionEngine  # noqa: E402
from fim_server.pipeline import CompletionPipeline, CompletionRequest, RequestError  # noqa: E402

LANGUAGE_HINTS = [
    ("python", ("def ", "import ", "self.", "elif ", "print(")),
    ("tsx", ("</", "useState", "className=")),
    ("typescript", (": string", ": number", "interface ", "export type")),
    ("javascript", ("function ", "const ", "=> ", "console.log")),
    ("go", ("func ", "package ", ":= ")),
    ("rust", ("fn ", "let mut ", "impl ", "-> Result")),
    ("java", ("public class", "System.out", "private ", "@Override")),
    ("cpp", ("#include <iostream>", "std::", "cout")),
    ("c", ("#include", "printf(", "malloc(")),
]


def guess_language(text: str) -> str | None:
    """Guess the language of a snippet with no file name (a crude keyword vote)."""
    scores = {name: sum(text.count(hint) for hint in hints) for name, hints in LANGUAGE_HINTS}
    best = max(scores, key=scores.get)
    return best if scores[best] else None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--effort", default="low")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    rows = [json.loads(line) for line in open(args.data / "copilot-arena" / "copilot_arena_examples_v1.jsonl")]
    settings = load_settings({"model": args.model})
    pipeline = CompletionPipeline(DiffusionEngine(settings.model, dtype=settings.dtype), default_effort=args.effort)
    outcomes: collections.Counter[str] = collections.Counter()
    languages: collections.Counter[str] = collections.Counter()
    latencies: list[float] = []
    for row in rows:
        language = guess_language(row["prefix"] + row["suffix"])
        languages[language or "unknown"] += 1
        request = CompletionRequest(prefix=row["prefix"], suffix=row["suffix"], language=language)
        started = time.perf_counter()
        try:
            result = pipeline.complete(request)
        except RequestError as exc:
            outcomes[f"invalid request: {exc}"] += 1
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        outcomes["completed" if not result.rejected else f"rejected: {result.rejected}"] += 1
    pipeline.close()
    print(f"positions: {len(rows)}; languages: {dict(languages)}")
    for outcome, count in outcomes.most_common():
        print(f"  {count:4d}  {outcome}")
    print(f"latency ms (effort {args.effort}): p50 {percentile(latencies, 0.5):.1f}, p95 {percentile(latencies, 0.95):.1f}, "
          f"mean {statistics.mean(latencies):.1f}, n {len(latencies)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
