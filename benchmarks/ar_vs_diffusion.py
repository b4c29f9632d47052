"""Compare the masked-diffusion model with the autoregressive (AR) PSM baseline: speed and quality.

Both models run in this one process, on the same threads, with the same context
windows. Sections:

1. Matched models (same size, data, seed and step budget). For every diffusion
   effort and the AR model: latency p50/p95/p99 and tokens/s per completion at
   forced lengths of 1, 5 and 20 lines. Latency per keystroke with and without
   context-cache reuse. HumanEval single-line and multi-line infilling pass@1,
   exact match and edit similarity through the production pipeline (seeded
   subsample), next to the empty-middle floor.
2. Shipped size (hidden 256, 6 layers): the bundled diffusion model against an AR
   model of the same shape with untrained weights, for latency only.

Usage (about 10 minutes on one core of a loaded 2-core machine)::

    nice -n 5 .venv/bin/python benchmarks/ar_vs_diffusion.py \\
        --diffusion work/matched/diffusion-cached/export \\
        --autoregressive work/matched/autoregressive/export \\
        --json work/ar_vs_diffusion.json --plot docs/ar_vs_diffusion.png
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fill_timing import LENGTH_CLASSES, TimingSummary, time_keystrokes, time_lengths  # noqa: E402
from infill_quality import ExecutionCache, QualityResult, load_tasks, score_pipeline, score_texts  # noqa: E402

from fim_server.engine.dtypes import DTYPE_NAMES, resolve_dtype  # noqa: E402
from fim_server.engine.loading import load_engine  # noqa: E402
from fim_server.engine.sampler import EFFORTS  # noqa: E402
from fim_server.evaluation import DEFAULT_DATA  # noqa: E402
from fim_server.model import FimAutoregressiveConfig, FimAutoregressiveModel  # noqa: E402
from fim_server.pipeline import CompletionPipeline  # noqa: E402

AR = "autoregressive"
EMPTY = "empty middle"  # the floor: tests that pass without any completion


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diffusion", type=Path, default=REPO / "work/matched/diffusion-cached/export",
                        help="diffusion model folder of the matched pair")
    parser.add_argument("--autoregressive", type=Path, default=REPO / "work/matched/autoregressive/export",
                        help="AR model folder of the matched pair")
    parser.add_argument("--shipped", type=Path, default=REPO / "models/fim-diffusion-small",
                        help="shipped diffusion model, timed against an untrained AR model of its shape")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with human-eval-infilling/")
    parser.add_argument("--tasks", type=int, default=40, help="HumanEval tasks per suite (seeded subsample)")
    parser.add_argument("--repeats", type=int, default=20, help="timed completions per length class")
    parser.add_argument("--shipped-repeats", type=int, default=10, help="timed completions per class at shipped size")
    parser.add_argument("--cell-seconds", type=float, default=20.0,
                        help="time budget per system and length class; slower cells stop after 3 completions")
    parser.add_argument("--keystrokes", type=int, default=12, help="characters typed per context (4 contexts)")
    parser.add_argument("--efforts", default=",".join(EFFORTS), help="comma-separated diffusion efforts")
    parser.add_argument("--dtype", choices=list(DTYPE_NAMES), default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for both models")
    parser.add_argument("--seed", type=int, default=0, help="subsampling seed")
    parser.add_argument("--skip-quality", action="store_true", help="latency sections only")
    parser.add_argument("--skip-shipped", action="store_true", help="matched models only")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    parser.add_argument("--plot", type=Path, help="write the latency vs pass@1 plot (PNG) here")
    return parser.parse_args()


def speed_section(engines: dict, efforts: list[str], contexts, typing, repeats: int, budget_s: float) -> dict:
    """Time every system at forced lengths and along typed lines."""
    systems = [(f"diffusion {effort}", engines["diffusion"], effort) for effort in efforts]
    systems.append((AR, engines[AR], "low"))
    lengths = time_lengths(systems, contexts, repeats, budget_s)
    print("  timed forced lengths", file=sys.stderr, flush=True)
    keystrokes = time_keystrokes([("diffusion low", engines["diffusion"], "low"), (AR, engines[AR], "low")], typing)
    return {"lengths": lengths, "keystrokes": keystrokes}


def quality_section(engines: dict, efforts: list[str], suites: dict[str, list]) -> dict[str, dict[str, QualityResult]]:
    executions = ExecutionCache()
    results: dict[str, dict[str, QualityResult]] = {}
    systems = [(f"diffusion {effort}", engines["diffusion"], effort) for effort in efforts]
    systems.append((AR, engines[AR], "low"))
    for name, engine, effort in systems:
        pipeline = CompletionPipeline(engine, default_effort=effort)
        try:
            results[name] = {suite: score_pipeline(pipeline, tasks, effort, executions) for suite, tasks in suites.items()}
        finally:
            pipeline.close()
        print(f"  scored {name}", file=sys.stderr, flush=True)
    results[EMPTY] = {suite: score_texts(tasks, [""] * len(tasks), [0.0], executions) for suite, tasks in suites.items()}
    return results


def untrained_ar_like(diffusion_path: Path, folder: Path) -> Path:
    """Write an AR model with the diffusion model's shape and tokenizer and random weights (latency only)."""
    source = json.loads((diffusion_path / "config.json").read_text())
    shape = {key: source[key] for key in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                                          "intermediate_size", "max_prefix_tokens", "max_suffix_tokens",
                                          "max_canvas_tokens")}
    torch.manual_seed(0)
    FimAutoregressiveModel(FimAutoregressiveConfig(**shape)).save_pretrained(str(folder), safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(diffusion_path / name, folder / name)
    return folder


def print_lengths(title: str, lengths: dict[str, dict[str, TimingSummary]]) -> None:
    print(f"\n## {title}: forced lengths, cold context (ms; tokens/s per completion)")
    print(f"{'system':<20} {'length':<9} {'tokens':>6} {'n':>3} {'p50':>8} {'p95':>8} {'p99':>8} {'cpu p50':>8} "
          f"{'tok/s':>7} {'calls':>6}")
    for name, classes in lengths.items():
        for length, s in classes.items():
            print(f"{name:<20} {length:<9} {LENGTH_CLASSES[length]:>6} {s.count:>3} {s.p50_ms:>8.1f} {s.p95_ms:>8.1f} "
                  f"{s.p99_ms:>8.1f} {s.cpu_p50_ms:>8.1f} {s.tokens_per_s:>7.0f} {s.steps:>6.1f}")


def print_keystrokes(title: str, keystrokes: dict) -> None:
    print(f"\n## {title}: one line (16 tokens) after every typed character (ms)")
    print(f"{'system':<30} {'keys':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'cpu p50':>8}  cache states")
    for name, (s, states) in keystrokes.items():
        print(f"{name:<30} {s.count:>5} {s.p50_ms:>8.1f} {s.p95_ms:>8.1f} {s.p99_ms:>8.1f} {s.cpu_p50_ms:>8.1f}  {states}")


def print_quality(quality: dict[str, dict[str, QualityResult]]) -> None:
    print("\n## HumanEval infilling through the pipeline (greedy, one sample per task)")
    print(f"{'system':<20} {'suite':<18} {'tasks':>5} {'pass@1':>7} {'exact':>7} {'edit sim':>8} {'p50 ms':>8} "
          f"{'p95 ms':>8} {'chars':>6}")
    for name, suites in quality.items():
        for suite, q in suites.items():
            print(f"{name:<20} {suite:<18} {q.tasks:>5} {q.pass_at_1:>7.3f} {q.exact_match:>7.3f} "
                  f"{q.edit_similarity:>8.3f} {q.p50_ms:>8.1f} {q.p95_ms:>8.1f} {q.mean_chars:>6.1f}")


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "n/a (AR is 0)"


def print_ratios(title: str, speed: dict, quality: dict | None) -> None:
    """Headline figures: diffusion divided by AR (latency < 1 and tokens/s > 1 favour diffusion)."""
    print(f"\n## {title}: diffusion / AR")
    ar = speed["lengths"][AR]
    for name, classes in speed["lengths"].items():
        if name == AR:
            continue
        cells = [f"{length} p50 {ratio(s.p50_ms, ar[length].p50_ms)} (cpu {ratio(s.cpu_p50_ms, ar[length].cpu_p50_ms)}), "
                 f"tok/s {ratio(s.tokens_per_s, ar[length].tokens_per_s)}" for length, s in classes.items()]
        print(f"{name:<18} " + "; ".join(cells))
    keys = {name: s for name, (s, _) in speed["keystrokes"].items()}
    for kind in ("cache reuse", "cold"):
        diffusion, autoregressive = keys[f"diffusion low, {kind}"], keys[f"{AR}, {kind}"]
        print(f"keystroke p50, {kind}: {ratio(diffusion.p50_ms, autoregressive.p50_ms)} "
              f"(cpu {ratio(diffusion.cpu_p50_ms, autoregressive.cpu_p50_ms)})")
    for name, suites in (quality or {}).items():
        if name in (AR, EMPTY):
            continue
        cells = [f"{suite} pass@1 {ratio(q.pass_at_1, quality[AR][suite].pass_at_1)}, "
                 f"edit sim. {ratio(q.edit_similarity, quality[AR][suite].edit_similarity)}" for suite, q in suites.items()]
        print(f"{name:<18} " + "; ".join(cells))


def plot(quality: dict[str, dict[str, QualityResult]], path: Path) -> None:
    """Scatter p50 pipeline latency against pass@1 (top) and edit similarity (bottom), one column per suite."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    suites = list(quality[AR])
    metrics = (("pass_at_1", "pass@1"), ("edit_similarity", "edit similarity to the reference"))
    figure, axes = plt.subplots(len(metrics), len(suites), figsize=(5.5 * len(suites), 8), squeeze=False)
    for column, suite in enumerate(suites):
        for row, (field, label) in enumerate(metrics):
            axis = axes[row][column]
            floor = getattr(quality[EMPTY][suite], field)
            axis.axhline(floor, color="gray", linestyle="--", linewidth=1, label=f"{EMPTY}: {floor:.3f}")
            for index, (name, results) in enumerate(item for item in quality.items() if item[0] != EMPTY):
                q = results[suite]
                marker, color = ("s", "tab:red") if name == AR else ("o", "tab:blue")
                axis.scatter(q.p50_ms, getattr(q, field), marker=marker, color=color, s=50)
                # Alternate label offsets so that neighbouring points stay readable.
                axis.annotate(name.replace("diffusion ", "diff. "), (q.p50_ms, getattr(q, field)),
                              textcoords="offset points", xytext=(5, 6 if index % 2 else -12), fontsize=8)
            axis.set_xscale("log")
            axis.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.xaxis.set_major_formatter(ticker.ScalarFormatter())
            axis.xaxis.set_minor_formatter(ticker.NullFormatter())
            axis.set_xlabel("p50 completion latency through the pipeline (ms, log scale)")
            axis.set_ylabel(label)
            axis.set_title(f"{suite} ({quality[AR][suite].tasks} tasks)")
            axis.legend(loc="best", fontsize=8)
            axis.grid(True, alpha=0.3)
    figure.suptitle("Matched mini models: diffusion (circles, per effort) vs autoregressive (square)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    print(f"\nplot written to {path}")


def to_json(value):
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [to_json(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return {key: item for key, item in asdict(value).items() if key != "texts"}
    return value


def matched_sections(args, efforts: list[str]) -> dict:
    contexts = [(t.prefix, t.suffix) for t in load_tasks(args.data, "humaneval-multi", args.repeats, args.seed + 1)]
    typing = [(t.prefix, t.reference[: args.keystrokes], t.suffix)
              for t in load_tasks(args.data, "humaneval-single", 4, args.seed + 2)]
    engines = {"diffusion": load_engine(args.diffusion, dtype=args.dtype, threads=args.threads),
               AR: load_engine(args.autoregressive, dtype=args.dtype, threads=args.threads)}
    if engines["diffusion"].kind != "diffusion" or engines[AR].kind != AR:
        raise SystemExit(f"error: expected a diffusion folder and an AR folder, got {args.diffusion} and "
                         f"{args.autoregressive}")
    report = {"speed": speed_section(engines, efforts, contexts, typing, args.repeats, args.cell_seconds), "quality": None,
              "contexts": len(contexts), "typing": typing}
    if not args.skip_quality:
        suites = {suite: load_tasks(args.data, suite, args.tasks, args.seed)
                  for suite in ("humaneval-single", "humaneval-multi")}
        report["quality"] = quality_section(engines, efforts, suites)
    return report


def shipped_section(args, efforts: list[str], contexts, typing) -> dict:
    with tempfile.TemporaryDirectory(prefix="ar-vs-diffusion-") as root:
        # A private copy, because a running training job may re-export the shipped folder.
        diffusion_path = Path(shutil.copytree(args.shipped, Path(root) / "diffusion"))
        ar_path = untrained_ar_like(diffusion_path, Path(root) / "autoregressive")
        engines = {"diffusion": load_engine(diffusion_path, dtype=args.dtype, threads=args.threads),
                   AR: load_engine(ar_path, dtype=args.dtype, threads=args.threads)}
        return speed_section(engines, efforts, contexts, typing, args.shipped_repeats, args.cell_seconds)


def main() -> int:
    args = parse_args()
    efforts = [effort for effort in args.efforts.split(",") if effort]
    unknown = sorted(set(efforts) - set(EFFORTS))
    if unknown:
        raise SystemExit(f"error: unknown effort {unknown[0]!r}: use {', '.join(EFFORTS)}")
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    print(f"# diffusion vs AR: dtype {resolve_dtype(args.dtype)}, {args.threads} thread(s), torch {torch.__version__}")
    matched = matched_sections(args, efforts)
    print_lengths("Matched models", matched["speed"]["lengths"])
    print_keystrokes("Matched models", matched["speed"]["keystrokes"])
    if matched["quality"]:
        print_quality(matched["quality"])
    print_ratios("Matched models", matched["speed"], matched["quality"])
    shipped = None
    if not args.skip_shipped:
        contexts = [(t.prefix, t.suffix) for t in load_tasks(args.data, "humaneval-multi", args.repeats, args.seed + 1)]
        shipped = shipped_section(args, efforts, contexts, matched["typing"])
        print_lengths("Shipped size (AR weights untrained)", shipped["lengths"])
        print_keystrokes("Shipped size (AR weights untrained)", shipped["keystrokes"])
        print_ratios("Shipped size", shipped, None)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\ntotal {time.perf_counter() - started:.0f} s, peak RSS {peak_mb:.0f} MB")
    if args.plot and matched["quality"]:
        plot(matched["quality"], args.plot)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(to_json({"matched": matched, "shipped": shipped}), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
