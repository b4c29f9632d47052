"""Train the masked-diffusion FIM model on the corpus: resumable, seeded, checkpointed.

Run ``fim-server train --corpus work/corpus --run runs/small --export models/fim-diffusion-small``.
Interrupt at any time; the same command resumes from ``<run>/checkpoint.pt``.
``--objective autoregressive`` trains the causal PSM baseline on the same examples instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from tqdm import tqdm

from ..engine.dtypes import native_bfloat16
from ..model import PREFIX, FimAutoregressiveConfig, FimAutoregressiveModel, FimDiffusionConfig, FimDiffusionModel
from ..model.tokenizer import iter_corpus_texts, load_tokenizer, save_tokenizer, train_tokenizer
from .autoregressive import autoregressive_loss, collate_autoregressive, middle_loss
from .examples import Batch, collate, make_example
from .workers import GradientSync, run_workers

# oneDNN, which runs the bfloat16 matrix products on CPU, caches a compiled kernel per tensor shape
# (1024 by default), and reads this variable when it creates its first kernel. Training batches come
# in many shapes: with the default cache one worker grew from 2.2 to 4.8 GB in 260 steps (2-core CPU,
# one thread), and with 16 entries it stayed near 2 GB at the same speed. Spawned workers import
# this module too.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")

log = logging.getLogger("fim_server.train")


def load_texts(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle]


class ExampleSampler:
    """Draw FIM examples from files chosen in proportion to their length."""

    def __init__(self, texts: list[str], tokenizer, config: FimDiffusionConfig, seed: int, collate_fn=collate) -> None:
        self.texts = texts
        self.weights = [len(t) for t in texts]
        self.tokenizer = tokenizer
        self.config = config
        self.rng = random.Random(seed)
        self.collate_fn = collate_fn

    def batch(self, size: int) -> Batch:
        examples = []
        while len(examples) < size:
            text = self.rng.choices(self.texts, self.weights)[0]
            example = make_example(text, self.tokenizer, self.config, self.rng)
            if example is not None and example.middle:
                examples.append(example)
        return self.collate_fn(examples, self.config, self.rng)


def masked_diffusion_loss(model: FimDiffusionModel, batch: Batch) -> torch.Tensor:
    """Per-sequence weighted cross-entropy over masked canvas tokens, averaged over the batch."""
    selected = batch.weights > 0
    logits = model(batch.input_ids, batch.segment_ids, batch.position_ids, output_mask=selected)  # (N, V)
    nll = torch.nn.functional.cross_entropy(logits.float(), batch.targets[selected], reduction="none")
    return (nll * batch.weights[selected]).sum() / batch.input_ids.shape[0]


PREFIX_LM_WEIGHT = 0.5


def diffusion_with_prefix_lm_loss(model: FimDiffusionModel, batch: Batch) -> torch.Tensor:
    """Masked-diffusion loss plus an auxiliary next-token loss on the prefix.

    Prefix tokens attend causally (to the suffix and earlier prefix tokens), so
    their hidden states can predict the next token at no extra forward cost; the
    last prefix token predicts the first middle token. A FIM canvas supervises
    only about 20 of the 300 tokens in a sequence, and this auxiliary loss
    supervises the rest, which teaches the shared layers the language much
    sooner. Held-out evaluation still uses ``masked_diffusion_loss`` alone.

    Only the cached layout gets the auxiliary loss: in the bidirectional layout a
    prefix token sees the token it would predict, so the loss would teach copying.
    """
    if model.config.attention_layout != "cached":
        return masked_diffusion_loss(model, batch)
    segments = batch.segment_ids
    is_prefix = segments == PREFIX
    next_is_prefix = torch.zeros_like(is_prefix)
    next_is_prefix[:, :-1] = is_prefix[:, 1:]
    within = is_prefix & next_is_prefix
    last = is_prefix & ~next_is_prefix
    canvas_start = model.config.max_suffix_tokens + model.config.max_prefix_tokens
    next_ids = torch.zeros_like(batch.input_ids)
    next_ids[:, :-1] = batch.input_ids[:, 1:]
    next_ids = torch.where(last, batch.targets[:, canvas_start : canvas_start + 1], next_ids)
    lm_positions = within | last
    diffusion_positions = batch.weights > 0
    combined = lm_positions | diffusion_positions
    logits = model(batch.input_ids, segments, batch.position_ids, output_mask=combined).float()  # (N, V)
    in_diffusion = diffusion_positions[combined]
    diffusion_nll = torch.nn.functional.cross_entropy(
        logits[in_diffusion], batch.targets[diffusion_positions], reduction="none")
    diffusion = (diffusion_nll * batch.weights[diffusion_positions]).sum() / batch.input_ids.shape[0]
    lm_counts = lm_positions.sum(dim=1, keepdim=True).clamp_min(1)  # (B, 1)
    lm_weights = (lm_positions / lm_counts)[lm_positions]
    lm_nll = torch.nn.functional.cross_entropy(logits[~in_diffusion], next_ids[lm_positions], reduction="none")
    prefix_lm = (lm_nll * lm_weights).sum() / batch.input_ids.shape[0]
    return diffusion + PREFIX_LM_WEIGHT * prefix_lm


@dataclass(frozen=True, slots=True)
class Objective:
    """Model classes, batch layout, training loss and held-out loss of one ``--objective``."""

    name: str
    config_class: type
    model_class: type
    collate: Callable
    train_loss: Callable
    valid_loss: Callable


OBJECTIVES = {
    "diffusion": Objective("diffusion", FimDiffusionConfig, FimDiffusionModel, collate,
                           diffusion_with_prefix_lm_loss, masked_diffusion_loss),
    "autoregressive": Objective("autoregressive", FimAutoregressiveConfig, FimAutoregressiveModel,
                                collate_autoregressive, autoregressive_loss, middle_loss),
}


@torch.no_grad()
def evaluate(model: FimDiffusionModel, batches: list[Batch], loss_fn=masked_diffusion_loss) -> float:
    model.eval()
    losses = [loss_fn(model, b).item() for b in batches]
    model.train()
    return sum(losses) / len(losses)


def learning_rate(step: int, args) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, args.max_steps - args.warmup))
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def prepare_tokenizer(run: Path, corpus: Path, vocab_size: int):
    folder = run / "tokenizer"
    if not (folder / "tokenizer.json").exists():
        log.info("training the tokenizer (vocab %d) on %s", vocab_size, corpus / "train.jsonl")
        tokenizer = train_tokenizer(iter_corpus_texts(corpus / "train.jsonl", 60_000_000), vocab_size)
        save_tokenizer(tokenizer, folder)
    return load_tokenizer(folder)


def export(model: FimDiffusionModel, tokenizer, folder: Path, info: dict) -> None:
    """Write the model folder beside ``folder``, then move each file in, so that no reader sees a half-written file."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    model.save_pretrained(str(staging), safe_serialization=True)
    tokenizer.save_pretrained(str(staging))
    (staging / "training.json").write_text(json.dumps(info, indent=1))
    for path in sorted(staging.iterdir()):
        os.replace(path, folder / path.name)
    staging.rmdir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fim-server train", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("work/corpus"), help="folder from `fim-server corpus`")
    parser.add_argument("--run", type=Path, default=Path("runs/small"), help="checkpoint folder")
    parser.add_argument("--export", type=Path, default=None, help="model folder written with save_pretrained")
    parser.add_argument("--objective", choices=sorted(OBJECTIVES), default=None,
                        help="diffusion (default for a new run) or the autoregressive PSM baseline; "
                             "a resumed run keeps the objective of its checkpoint")
    parser.add_argument("--layout", choices=["cached", "bidirectional"], default="cached",
                        help="attention layout of the diffusion model")
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16, help="examples per optimizer step")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak AdamW learning rate")
    parser.add_argument("--warmup", type=int, default=100, help="linear warm-up steps")
    parser.add_argument("--max-steps", type=int, default=20000, help="total steps of the cosine schedule")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop this invocation after N minutes")
    parser.add_argument("--eval-every", type=int, default=250, help="steps between held-out evaluations")
    parser.add_argument("--save-every", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads per worker (default: all cores for one worker, 1 for several)")
    parser.add_argument("--workers", type=int, default=1,
                        help="data-parallel CPU processes, one per core; each takes batch-size/workers examples")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="auto uses a CUDA GPU when torch sees one, else the CPU")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast on CPU")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--init-from", type=Path, default=None,
                        help="start a new run from an exported model folder (its weights and tokenizer); "
                             "ignored when the run folder already has a checkpoint")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    problem = _parallel_problem(args)
    if problem:
        parser.error(problem)
    args.run.mkdir(parents=True, exist_ok=True)
    checkpoint_path = args.run / "checkpoint.pt"
    if checkpoint_path.exists():
        saved = torch.load(checkpoint_path, weights_only=False, map_location="cpu").get("objective", "diffusion")
        if args.objective not in (None, saved):
            parser.error(f"{checkpoint_path} holds a {saved} run, not {args.objective}: "
                         f"drop --objective to resume it or pass another --run folder")
    elif args.init_from and not (args.run / "tokenizer").exists():
        load_tokenizer(args.init_from).save_pretrained(str(args.run / "tokenizer"))
    prepare_tokenizer(args.run, args.corpus, args.vocab_size)  # once, before any worker starts
    if args.workers > 1:
        return run_workers(train_worker, args, args.workers)
    return train_worker(0, 1, args)


def _parallel_problem(args) -> str | None:
    """Return why --workers, --device and --batch-size do not fit together, or None."""
    if args.workers < 1:
        return f"invalid --workers {args.workers}: use 1 or more"
    if args.batch_size % args.workers:
        return (f"--batch-size {args.batch_size} does not split evenly over --workers {args.workers}: "
                f"use a multiple of {args.workers}")
    if args.workers > 1 and args.device == "cuda":
        return "--workers is for CPU cores; with --device cuda use one worker"
    if args.device == "cuda" and not torch.cuda.is_available():
        return "--device cuda: torch sees no CUDA GPU here; use --device cpu or auto"
    return None


def _device(args) -> torch.device:
    # NOTE: the CUDA path (device choice, batch transfer, bf16 autocast on the GPU) has only run in
    # tests on machines without a GPU, which exercise the CPU branch.
    if args.device == "cuda" or (args.device == "auto" and args.workers == 1 and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def _to_device(batch: Batch, device: torch.device) -> Batch:
    if device.type == "cpu":
        return batch
    return Batch(*(getattr(batch, f.name).to(device) for f in fields(Batch)))


def train_worker(rank: int, world: int, args) -> int:
    """Train as worker ``rank`` of ``world``; worker 0 evaluates, exports and checkpoints."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    elif world > 1:
        torch.set_num_threads(1)
    lead, device = rank == 0, _device(args)
    checkpoint_path = args.run / "checkpoint.pt"
    tokenizer = prepare_tokenizer(args.run, args.corpus, args.vocab_size)
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False, map_location="cpu")
        objective = OBJECTIVES[state.get("objective", "diffusion")]
        config = objective.config_class(**state["config"])
        if lead:
            log.info("resuming from %s at step %d", checkpoint_path, state["step"])
    else:
        state = None
        objective = OBJECTIVES[args.objective or "diffusion"]
        size = dict(
            vocab_size=len(tokenizer), hidden_size=args.hidden_size, num_hidden_layers=args.layers,
            num_attention_heads=args.heads, intermediate_size=int(args.hidden_size * 8 / 3 / 32 + 0.5) * 32,
        )
        if objective.name == "diffusion":
            size["attention_layout"] = args.layout
        config = objective.config_class(**size)
    torch.manual_seed(args.seed)
    model = objective.model_class(config)
    step, tokens_seen, best_valid = 0, 0, float("inf")
    prior_steps = 0  # optimizer steps behind the weights of --init-from
    if state is None and args.init_from:
        model = objective.model_class.from_pretrained(str(args.init_from))
        config = model.config
        if lead:
            log.info("starting from the weights in %s", args.init_from)
        previous = args.init_from / "training.json"
        if previous.exists():
            # Count the tokens the weights have already seen, and export only
            # when the held-out loss beats the model we started from.
            info = json.loads(previous.read_text())
            tokens_seen = int(info.get("tokens_seen", 0))
            prior_steps = int(info.get("step", 0))
            best_valid = float(info.get("valid_loss", best_valid))
            if lead:
                log.info("it has seen %.2fM tokens, held-out loss %.3f", tokens_seen / 1e6, best_valid)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, tokens_seen, best_valid = state["step"], state["tokens_seen"], state["best_valid"]
        prior_steps = state.get("prior_steps", 0)
    # Where the first weights came from; a resumed run reads it from its checkpoint.
    init_from = str(args.init_from) if state is None and args.init_from else (state or {}).get("init_from")
    if lead:
        log.info("model: %.2fM parameters, objective %s, layout %s, %s, %d worker(s)",
                 sum(p.numel() for p in model.parameters()) / 1e6, objective.name,
                 getattr(config, "attention_layout", "causal PSM"), device.type, world)
        if args.bf16 and device.type == "cpu" and not native_bfloat16():
            # On a 2-core AVX2-only AMD EPYC, bfloat16 autocast trained at 75 tokens/s against 650 in float32.
            log.warning("this CPU has no native bfloat16 support, so --bf16 autocast is emulated and much slower "
                        "than float32; leave out --bf16 here")

    texts = load_texts(args.corpus / "train.jsonl")
    # The example stream continues from the weights' total step count, so a run that starts from an
    # exported model draws new examples instead of replaying the ones that model was trained on.
    # Every further worker draws its own stream.
    seed = args.seed + prior_steps + step
    sampler = ExampleSampler(texts, tokenizer, config, seed=seed if rank == 0 else f"{seed}/worker{rank}",
                             collate_fn=objective.collate)
    valid_batches = []
    if lead:
        valid_sampler = ExampleSampler(load_texts(args.corpus / "valid.jsonl"), tokenizer, config, seed=4321,
                                       collate_fn=objective.collate)
        valid_batches = [_to_device(valid_sampler.batch(16), device) for _ in range(8)]
    history_path = args.run / "history.jsonl"

    def save() -> None:
        saved_config = config.to_diff_dict()
        if objective.name == "diffusion":
            saved_config["attention_layout"] = config.attention_layout
        state = {"config": saved_config, "objective": objective.name, "model": model.state_dict(),
                 "optimizer": optimizer.state_dict(), "step": step, "tokens_seen": tokens_seen,
                 "best_valid": best_valid, "prior_steps": prior_steps, "init_from": init_from}
        torch.save(state, checkpoint_path.with_suffix(".tmp"))
        os.replace(checkpoint_path.with_suffix(".tmp"), checkpoint_path)

    sync = GradientSync(world)
    start = time.monotonic()
    window_tokens, window_start = 0, time.monotonic()
    model.train()
    bar = tqdm(total=args.max_steps, initial=step, dynamic_ncols=True, mininterval=5) if lead else None
    while step < args.max_steps:
        batch = _to_device(sampler.batch(args.batch_size // world), device)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            loss = objective.train_loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        out_of_time = bool(args.max_minutes and time.monotonic() - start > args.max_minutes * 60)
        loss_sum, real_tokens, stop_votes = sync.average(
            model.parameters(), [loss.item(), float((batch.segment_ids != 3).sum()), float(out_of_time)])
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        tokens_seen += int(real_tokens)
        window_tokens += int(real_tokens)
        train_loss = loss_sum / world
        elapsed = time.monotonic() - window_start
        if lead:
            bar.update(1)
            bar.set_postfix(loss=f"{train_loss:.3f}", tok_s=f"{window_tokens / max(elapsed, 1e-9):.0f}",
                            tokens=f"{tokens_seen / 1e6:.2f}M")
        if lead and (step % args.eval_every == 0 or step == args.max_steps):
            valid = evaluate(model, valid_batches, objective.valid_loss)
            record = {"step": step, "tokens": tokens_seen, "train_loss": train_loss, "valid_loss": valid,
                      "tokens_per_s": window_tokens / max(elapsed, 1e-9), "time": time.time()}
            with open(history_path, "a") as handle:
                handle.write(json.dumps(record) + "\n")
            log.info("step %d: train %.3f, held-out %.3f, %.0f tokens/s", step, train_loss, valid, record["tokens_per_s"])
            window_tokens, window_start = 0, time.monotonic()
            if valid < best_valid:
                best_valid = valid
                if args.export:
                    export(model, tokenizer, args.export,
                           {"step": prior_steps + step, "tokens_seen": tokens_seen, "valid_loss": valid,
                            "seed": args.seed, "init_from": init_from})
        if lead and step % args.save_every == 0:
            save()
        if stop_votes:
            break
    sync.check_in_sync(model.parameters())
    if lead:
        save()
        bar.close()
        log.info("stopped at step %d, %.2fM tokens, best held-out loss %.3f", step, tokens_seen / 1e6, best_valid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
