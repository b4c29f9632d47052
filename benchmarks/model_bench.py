"""Model figures on this CPU: size, held-out loss and accuracy, per-effort fill latency, cache speed-up.

Run ``nice -n 5 .venv/bin/python benchmarks/model_bench.py`` (needs the corpus from
``fim-server corpus --out work/corpus`` for the held-out split). It prints:

- parameter count and tokens trained (from the model folder's ``training.json``);
- held-out masked-token loss (the training objective, 1/k weighted) and the
  accuracy of the arg-max prediction at masked canvas positions, on the same
  held-out batches that training evaluates;
- for each effort: p50/p95 of the whole fill and of its parts (tokenize, context
  encode, denoising steps, the ranking call of efforts that rank candidates by fit),
  mean steps and mean tokens committed per step, over
  line-completion cursors in held-out files, each a cold context;
- the speed-up of a one-keystroke prefix extension served from the context
  cache over a cold encode of the same context;
- peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

from fill_timing import percentile

from fim_server.engine.dtypes import DTYPE_NAMES, resolve_dtype
from fim_server.engine.engine import DiffusionEngine
from fim_server.engine.types import EFFORTS
from fim_server.training.train import ExampleSampler, load_texts


def held_out_metrics(engine: DiffusionEngine, corpus: Path, batches: int) -> tuple[float, float, int]:
    """Return (weighted loss, arg-max accuracy, masked tokens) on held-out batches."""
    model, config = engine.model, engine.config
    sampler = ExampleSampler(load_texts(corpus / "valid.jsonl"), engine.tokenizer, config, seed=4321)
    loss_sum, correct, total, rows = 0.0, 0, 0, 0
    with torch.inference_mode():
        for _ in range(batches):
            batch = sampler.batch(16)
            selected = batch.weights > 0
            logits = model(batch.input_ids, batch.segment_ids, batch.position_ids, output_mask=selected).float()
            targets = batch.targets[selected]
            nll = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
            loss_sum += float((nll * batch.weights[selected]).sum())
            rows += batch.input_ids.shape[0]
            correct += int((logits.argmax(-1) == targets).sum())
            total += int(targets.numel())
    return loss_sum / rows, correct / max(total, 1), total


def require_held_out(parser: argparse.ArgumentParser, corpus: Path) -> None:
    """Exit with a usage error when the corpus folder has no held-out split."""
    if not (corpus / "valid.jsonl").exists():
        parser.error(f"{corpus}/valid.jsonl is missing: build it with `fim-server corpus --out {corpus}`")


def line_holes(texts: list[str], count: int, seed: int) -> list[tuple[str, str, str]]:
    """Return (prefix, suffix, removed line body) for random code lines in ``texts``.

    The cursor sits after the line's indentation and the suffix starts at the
    line's newline, as when a user is about to type that line.
    """
    rng = random.Random(seed)
    holes: list[tuple[str, str, str]] = []
    while len(holes) < count:
        text = rng.choice(texts)
        lines = text.splitlines(keepends=True)
        if len(lines) < 20:
            continue
        index = rng.randrange(10, len(lines) - 5)
        line = lines[index]
        body = line.lstrip(" \t")
        if len(body.strip()) < 8:
            continue
        start = sum(len(x) for x in lines[:index]) + len(line) - len(body)
        end = start + len(body.rstrip("\r\n"))
        holes.append((text[:start], text[end:], text[start:end]))
    return holes


def line_cursors(texts: list[str], count: int, seed: int) -> list[tuple[str, str, str]]:
    """Return (prefix, suffix, next typed character) for the holes of ``line_holes``."""
    return [(prefix, suffix, body[0]) for prefix, suffix, body in line_holes(texts, count, seed)]


def ms_summary(values: list[float]) -> str:
    return f"p50 {percentile(values, 0.5):7.1f}  p95 {percentile(values, 0.95):7.1f}"


def effort_latency(engine: DiffusionEngine, cursors, effort: str, canvas: int) -> dict[str, list[float]]:
    parts: dict[str, list[float]] = {"total": [], "tokenize": [], "encode_context": [], "denoise": [], "rank": [],
                                     "steps": [], "tokens_per_step": []}
    for prefix, suffix, _ in cursors:
        engine.forget_context()  # a cold context for every cursor
        started = time.perf_counter()
        result = engine.fill(prefix, suffix, canvas_tokens=canvas, effort=effort)
        parts["total"].append((time.perf_counter() - started) * 1000)
        for key in ("tokenize", "encode_context", "denoise", "rank"):
            parts[key].append(result.timings_ms.get(key, 0.0))
        parts["steps"].append(result.steps)
        parts["tokens_per_step"].append(sum(result.tokens_per_step) / max(result.steps, 1))
    return parts


def cache_speedup(engine: DiffusionEngine, cursors, canvas: int) -> tuple[list[float], list[float], dict]:
    """Return context-encode times (cold, after one typed character) and the cache states seen."""
    cold, warm, states = [], [], {}
    for prefix, suffix, typed in cursors:
        engine.forget_context()
        engine.fill(prefix, suffix, canvas_tokens=canvas, effort="instant")
        extended = engine.fill(prefix + typed, suffix, canvas_tokens=canvas, effort="instant")
        states[extended.cache] = states.get(extended.cache, 0) + 1
        engine.forget_context()
        recold = engine.fill(prefix + typed, suffix, canvas_tokens=canvas, effort="instant")
        warm.append(extended.timings_ms["encode_context"])
        cold.append(recold.timings_ms["encode_context"])
    return cold, warm, states


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/fim-diffusion-small"))
    parser.add_argument("--corpus", type=Path, default=Path("work/corpus"))
    parser.add_argument("--positions", type=int, default=40, help="cursors per effort")
    parser.add_argument("--canvas", type=int, default=16, help="canvas hint in tokens (one line)")
    parser.add_argument("--loss-batches", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", default="auto", choices=list(DTYPE_NAMES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    require_held_out(parser, args.corpus)
    torch.manual_seed(args.seed)
    engine = DiffusionEngine(args.model, dtype=args.dtype, threads=args.threads)
    info_path = args.model / "training.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    params = sum(p.numel() for p in engine.model.parameters())
    print(f"model {args.model}: {params / 1e6:.2f}M parameters, {info.get('tokens_seen', 0) / 1e6:.1f}M tokens "
          f"trained, step {info.get('step', '?')}, dtype {resolve_dtype(args.dtype)}, {args.threads} thread(s)")

    loss, accuracy, masked = held_out_metrics(engine, args.corpus, args.loss_batches)
    print(f"held-out masked-token loss {loss:.3f} nats, arg-max accuracy {accuracy:.1%} over {masked} masked tokens")

    cursors = line_cursors(load_texts(args.corpus / "valid.jsonl"), args.positions, args.seed)
    engine.fill(cursors[0][0], cursors[0][1], canvas_tokens=args.canvas, effort="low")  # warm-up
    print(f"\nfill latency in ms over {len(cursors)} held-out line cursors, canvas hint {args.canvas} tokens, cold context:")
    for effort in EFFORTS:
        parts = effort_latency(engine, cursors, effort, args.canvas)
        print(f"  {effort:8s} total {ms_summary(parts['total'])} | tokenize {ms_summary(parts['tokenize'])} | "
              f"encode {ms_summary(parts['encode_context'])} | steps {ms_summary(parts['denoise'])} | "
              f"rank {ms_summary(parts['rank'])} | mean steps {statistics.mean(parts['steps']):.1f}, tokens/step "
              f"{statistics.mean(parts['tokens_per_step']):.2f}")

    cold, warm, states = cache_speedup(engine, cursors, args.canvas)
    speedup = statistics.median(cold) / max(statistics.median(warm), 1e-6)
    print(f"\none typed character, context encode: cold {ms_summary(cold)}, from cache {ms_summary(warm)}, "
          f"median speed-up {speedup:.1f}x over {len(warm)} cursors (cache states {states})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
