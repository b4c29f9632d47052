"""Write the model card (README.md) and corpus manifest into an exported model folder.

Run ``python -m fim_server.training.model_card --model models/fim-diffusion-small
--run runs/small runs/next --corpus work/corpus``. Every number in the card is read from the
run's files: ``training.json``, ``history.jsonl``, the corpus manifest and the
evaluation-overlap report.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from ..model import FimDiffusionConfig


def _history(runs: list[Path]) -> list[dict]:
    """Return the held-out records of runs that continued one another, with steps counted from the first."""
    records: list[dict] = []
    for run in runs:
        path = run / "history.jsonl"
        if not path.exists():
            continue
        offset = records[-1]["step"] if records else 0
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                records.append({**record, "step": record["step"] + offset})
    return records


def _corpus_counts(corpus: Path) -> tuple[dict[str, int], dict[str, float]]:
    files: dict[str, int] = {}
    megabytes: dict[str, float] = {}
    with open(corpus / "train.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            files[row["language"]] = files.get(row["language"], 0) + 1
            megabytes[row["language"]] = megabytes.get(row["language"], 0.0) + len(row["text"].encode()) / 1e6
    return files, megabytes


def render(model: Path, runs: list[Path], corpus: Path, overlap_verified: int | None, notes: str = "") -> str:
    config = FimDiffusionConfig.from_pretrained(str(model))
    info = json.loads((model / "training.json").read_text())
    history = _history(runs)
    manifest = json.loads((corpus / "manifest.json").read_text())
    overlap = json.loads((corpus / "overlap.json").read_text())
    files, megabytes = _corpus_counts(corpus)
    from ..model import FimDiffusionModel

    parameters = sum(p.numel() for p in FimDiffusionModel(config).parameters())
    packages = ", ".join(f"{m['package']} {m['version']}" for m in manifest[1:])
    lines = [
        "# fim-diffusion-small",
        "",
        "A masked-diffusion language model for fill-in-the-middle code completion, trained from scratch",
        "in this repository on a CPU. Load it with `fim_server.engine.engine.DiffusionEngine(path)` or",
        "`transformers.AutoModel.from_pretrained(path)` after `import fim_server.model`.",
        "",
        "## Architecture",
        "",
        f"- {parameters / 1e6:.2f}M parameters: {config.num_hidden_layers} layers, hidden size {config.hidden_size}, "
        f"{config.num_attention_heads} heads, SwiGLU MLP of {config.intermediate_size}, RMSNorm, RoPE "
        f"(theta {config.rope_theta:g}), PyTorch SDPA attention, output head tied to the embedding.",
        f"- Byte-level BPE tokenizer, {config.vocab_size} tokens, trained on the corpus; special tokens "
        "`<|mask|>` (0), `<|eom|>` (1, end of middle and canvas padding), `<|pad|>` (2, slot padding).",
        f"- Token budget: {config.max_prefix_tokens} prefix, {config.max_suffix_tokens} suffix and up to "
        f"{config.max_canvas_tokens} canvas tokens. Attention layout `{config.attention_layout}`: suffix tokens "
        "see the suffix, prefix tokens see the suffix and earlier prefix tokens, canvas tokens see everything, "
        "so context keys and values are exact across denoising steps and extend by appending while typing. "
        f"Suffix positions start at {config.suffix_position_offset}, independent of the prefix length.",
        "",
        "## Training",
        "",
        "- Objective: masked diffusion in its discrete form. The number k of masked canvas tokens is uniform "
        "on 1..C (stratified over the batch), the k positions are uniform, and each masked token's "
        "cross-entropy weighs 1/k; trailing end-of-middle tokens after the first weigh 0.25. An auxiliary "
        "next-token loss on the prefix tokens (weight 0.5) supervises the rest of the sequence; the held-out "
        "loss is the diffusion loss alone.",
        "- Examples mirror editor cursors: single line 28%, block of 1-8 lines 25%, random span 14%, end of file "
        "8%, mid-identifier 12%, unconditional (canvas only) 13%. Prefix, middle and suffix are tokenized "
        "separately.",
        f"- Steps: {info['step']}; tokens seen (suffix + prefix + canvas, padding excluded): "
        f"{info['tokens_seen'] / 1e6:.1f}M; seed {info['seed']}; AdamW (0.9, 0.95), weight decay 0.1, "
        "cosine schedule, bf16 autocast on a 2-core CPU.",
        f"- Best held-out loss (the same objective on files of the held-out split): {info['valid_loss']:.3f}.",
    ]
    if history:
        lines += ["", "| step | tokens | train loss | held-out loss | tokens/s |", "|---|---|---|---|---|"]
        for record in history:
            lines.append(f"| {record['step']} | {record['tokens'] / 1e6:.1f}M | {record['train_loss']:.3f} | "
                         f"{record['valid_loss']:.3f} | {record['tokens_per_s']:.0f} |")
    lines += [
        "",
        "## Data",
        "",
        f"- Training files: {sum(files.values())} ("
        + ", ".join(f"{lang} {count} files, {megabytes[lang]:.1f} MB" for lang, count in sorted(files.items()))
        + f"); held-out files: {overlap['files']['valid']} (whole files, chosen by a hash of their origin).",
        f"- Sources: the CPython {manifest[0]['version']} standard library (PSF-2.0) and pinned, permissively "
        f"licensed packages from PyPI and npm: {packages}. `corpus_manifest.json` lists licence and sha256 "
        "of every archive.",
        "- Filters: exact duplicates (sha256), near duplicates (MinHash over word 5-grams, LSH), files over "
        "200 kB or under 200 bytes, generated-file markers, vendored and minified paths, very long lines. "
        f"Rejected: {json.dumps(overlap['rejected'])}.",
        f"- Evaluation data is excluded: files sharing any {overlap['eval_ngram']}-word n-gram with HumanEval "
        f"prompts, solutions or infilling suffixes ({overlap['eval_ngrams_checked']} n-grams) were removed: "
        f"{len(overlap['eval_overlap_files_removed'])} files ("
        + ", ".join(overlap["eval_overlap_files_removed"]) + ").",
    ]
    if overlap_verified is not None:
        lines.append(f"- Re-check of the final corpus: {overlap_verified} kept files share a "
                     f"{overlap['eval_ngram']}-word n-gram with HumanEval.")
    if notes:
        lines += ["", notes.strip()]
    lines += [
        "",
        "## Limits",
        "",
        "- A small model trained for a few hours on two CPU cores: expect short, local completions (finishing a",
        "  line, closing a call, a common idiom), not whole functions. Bigger checkpoints load from a local path",
        "  through the same engine.",
        "- Python is most of the corpus; JavaScript and TypeScript are a small share; other languages are unseen.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--run", type=Path, nargs="+", required=True,
                        help="run folders, in order, when a run continued from the previous one with --init-from")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--overlap-verified", type=int, default=None,
                        help="result of the re-check of the final corpus against HumanEval")
    parser.add_argument("--notes", type=Path, default=None,
                        help="markdown appended before the limits: training history and measured quality")
    args = parser.parse_args(argv)
    notes = args.notes.read_text() if args.notes else ""
    (args.model / "README.md").write_text(render(args.model, args.run, args.corpus, args.overlap_verified, notes))
    shutil.copyfile(args.corpus / "manifest.json", args.model / "corpus_manifest.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
