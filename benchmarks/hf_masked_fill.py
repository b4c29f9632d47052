"""Fill latency of the hf-masked engine through the completion pipeline.

Runs ``CompletionPipeline.complete`` at evenly spaced cursor positions of a real
source file and prints, per effort: p50/p95 completion latency (ms, whole
pipeline), model steps per fill, denoising ms per step and the process's peak RSS.

``--model`` takes a Hugging Face masked LM folder. Without it the script writes a
ModernBERT with random weights (ModernBERT-base shape by default: 22 layers,
hidden size 768, 50,368 logit rows) next to the bundled model's tokenizer in a
temporary folder. Random weights give the cost of a step, not completion quality.

    nice -n 5 .venv/bin/python benchmarks/hf_masked_fill.py --positions 10 --efforts instant low
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from fill_timing import percentile  # noqa: E402

from fim_server.engine.dtypes import DTYPE_NAMES, resolve_dtype  # noqa: E402
from fim_server.engine.loading import load_engine  # noqa: E402
from fim_server.pipeline import CompletionPipeline, CompletionRequest  # noqa: E402

BUNDLED_MODEL = REPO / "models" / "fim-diffusion-small"


def write_random_modernbert(folder: Path, args) -> Path:
    """Save a ModernBertForMaskedLM with random weights and the bundled model's tokenizer."""
    import torch
    from transformers import ModernBertConfig, ModernBertForMaskedLM

    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(BUNDLED_MODEL / name, folder / name)
    tokens = json.loads((BUNDLED_MODEL / "tokenizer.json").read_text(encoding="utf-8"))["added_tokens"]
    ids = {token["content"]: token["id"] for token in tokens}
    config = ModernBertConfig(vocab_size=args.vocab_size, hidden_size=args.hidden, num_hidden_layers=args.layers,
                              intermediate_size=args.intermediate, num_attention_heads=args.heads,
                              pad_token_id=ids["<|pad|>"], eos_token_id=ids["<|eom|>"], sep_token_id=ids["<|eom|>"],
                              bos_token_id=None, cls_token_id=None)
    torch.manual_seed(0)
    ModernBertForMaskedLM(config).save_pretrained(str(folder))
    return folder


def cursor_requests(path: Path, count: int, effort: str) -> list[CompletionRequest]:
    """Return requests at ``count`` line ends spread over ``path``, skipping blank lines."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    candidates = [number for number, line in enumerate(lines) if line.strip()]
    step = max(1, len(candidates) // count)
    chosen = candidates[::step][:count]
    return [CompletionRequest(text=text, line=number, character=len(lines[number]), path=str(path), effort=effort)
            for number in chosen]


def run_effort(pipeline: CompletionPipeline, requests: list[CompletionRequest]) -> dict:
    latencies, denoise, steps = [], [], []
    for request in requests:
        started = time.perf_counter()
        result = pipeline.complete(request)
        if "fill" in result.steps:
            latencies.append((time.perf_counter() - started) * 1000)
            denoise.append(result.timings_ms["fill.denoise"])
            steps.append(result.model_steps)
    return {"fills": len(latencies), "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
            "steps": statistics.fmean(steps), "ms_per_step": sum(denoise) / sum(steps)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="Hugging Face masked LM folder (default: random ModernBERT weights)")
    parser.add_argument("--source", default=str(REPO / "fim_server" / "pipeline.py"), help="file to complete in")
    parser.add_argument("--positions", type=int, default=10, help="cursor positions per effort")
    parser.add_argument("--efforts", nargs="+", default=["instant", "low", "medium"], help="efforts to time")
    parser.add_argument("--dtype", default="auto", choices=list(DTYPE_NAMES))
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--layers", type=int, default=22, help="random model: transformer layers")
    parser.add_argument("--hidden", type=int, default=768, help="random model: hidden size")
    parser.add_argument("--intermediate", type=int, default=1152, help="random model: MLP size")
    parser.add_argument("--heads", type=int, default=12, help="random model: attention heads")
    parser.add_argument("--vocab-size", type=int, default=50_368, help="random model: logit rows")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="hf-masked-bench-") as scratch:
        folder = Path(args.model) if args.model else write_random_modernbert(Path(scratch), args)
        started = time.perf_counter()
        engine = load_engine(folder, dtype=args.dtype, threads=args.threads)
        load_s = time.perf_counter() - started
        parameters = sum(p.numel() for p in engine.model.parameters())
        print(f"model {folder if args.model else 'random ModernBERT'}: {parameters / 1e6:.1f}M parameters, "
              f"{resolve_dtype(args.dtype)}, {args.threads} thread(s), loaded in {load_s:.1f} s, limits {engine.limits}")
        pipeline = CompletionPipeline(engine)
        try:
            pipeline.complete(cursor_requests(Path(args.source), 1, "instant")[0])  # warm-up
            for effort in args.efforts:
                figures = run_effort(pipeline, cursor_requests(Path(args.source), args.positions, effort))
                print(f"{effort:>8}: {figures['fills']} fills, completion p50 {figures['p50_ms']:.0f} ms, "
                      f"p95 {figures['p95_ms']:.0f} ms, {figures['steps']:.1f} steps/fill, "
                      f"{figures['ms_per_step']:.0f} ms/step")
        finally:
            pipeline.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
