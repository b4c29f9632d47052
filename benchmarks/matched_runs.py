"""Train the three matched mini models one after another, then tabulate and plot their held-out losses.

The runs share the corpus, the tokenizer, the size (hidden 128, 4 layers), the
seed and the step budget. They differ only in objective or attention layout:
diffusion with the cached layout, diffusion with the bidirectional layout, and
the autoregressive PSM baseline. Usage::

    python benchmarks/matched_runs.py train --tokenizer runs/small/tokenizer [--code /tmp/snapshot]
    python benchmarks/matched_runs.py report --plot docs/matched_losses.png

Held-out losses of the two objectives measure different things: the diffusion
value is the masked-diffusion bound on the negative log-likelihood per canvas
token, the autoregressive value is the exact next-token loss per middle token.
Compare the two diffusion layouts with each other, and the objectives by pass@1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNS = {
    "diffusion-cached": ["--objective", "diffusion", "--layout", "cached"],
    "diffusion-bidirectional": ["--objective", "diffusion", "--layout", "bidirectional"],
    "autoregressive": ["--objective", "autoregressive"],
}
COMMON = ["--hidden-size", "128", "--layers", "4", "--heads", "4", "--batch-size", "16", "--lr", "2e-3",
          "--warmup", "20", "--eval-every", "15", "--save-every", "50", "--threads", "1", "--seed", "1234"]


def train(args) -> int:
    environment, workdir = dict(os.environ), REPO
    if args.code:
        # Every run imports this copy of the package, so edits to the working tree cannot reach them.
        environment["PYTHONPATH"] = str(args.code.resolve())
        workdir = args.code.resolve()
    for name, flags in RUNS.items():
        run = (args.out / name).resolve()
        run.mkdir(parents=True, exist_ok=True)
        if not (run / "tokenizer").exists():
            shutil.copytree(args.tokenizer, run / "tokenizer")  # the shipped tokenizer, not a new one
        command = ["nice", "-n", "10", sys.executable, "-m", "fim_server.training.train", "--corpus", str(args.corpus.resolve()),
                   "--run", str(run), "--export", str(run / "export"), "--max-steps", str(args.max_steps),
                   *COMMON, *flags]
        print(" ".join(command), flush=True)
        with open(args.out / f"{name}.log", "w") as log:
            status = subprocess.run(command, cwd=workdir, env=environment, stdout=log, stderr=subprocess.STDOUT).returncode
        if status:
            print(f"error: training {name} failed with exit status {status}; see {args.out / name}.log")
            return status
    return 0


def read_history(run: Path) -> list[dict]:
    path = run / "history.jsonl"
    if not path.is_file():
        raise SystemExit(f"error: {path} not found: run `matched_runs.py train` first")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def report(args) -> int:
    histories = {name: read_history(args.out / name) for name in RUNS}
    print(f"{'step':>5} " + " ".join(f"{name + ' tokens':>32} {'held-out':>9}" for name in RUNS))
    for rows in zip(*histories.values()):
        cells = " ".join(f"{row['tokens']:>32,} {row['valid_loss']:>9.3f}" for row in rows)
        print(f"{rows[0]['step']:>5} {cells}")
    for name, rows in histories.items():
        rates = [row["tokens_per_s"] for row in rows]
        print(f"{name}: {rows[-1]['tokens'] / 1e6:.2f}M tokens in {rows[-1]['step']} steps, "
              f"median {sorted(rates)[len(rates) // 2]:.0f} training tokens/s")
    if args.plot:
        plot(histories, args.plot)
    return 0


def plot(histories: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (diffusion_axis, ar_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for name, rows in histories.items():
        axis = ar_axis if name == "autoregressive" else diffusion_axis
        axis.plot([row["tokens"] / 1e6 for row in rows], [row["valid_loss"] for row in rows], marker="o", label=name)
    diffusion_axis.set_title("Diffusion: held-out bound per canvas token")
    ar_axis.set_title("Autoregressive: held-out loss per middle token")
    for axis in (diffusion_axis, ar_axis):
        axis.set_xlabel("training tokens (millions)")
        axis.set_ylabel("nats per token")
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    print(f"plot written to {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train_parser = sub.add_parser("train", help="train the three runs one after another")
    train_parser.add_argument("--corpus", type=Path, default=REPO / "work/corpus", help="folder from `fim-server corpus`")
    train_parser.add_argument("--tokenizer", type=Path, required=True, help="tokenizer folder shared by all runs")
    train_parser.add_argument("--max-steps", type=int, default=110, help="optimizer steps per run (16 examples each)")
    train_parser.add_argument("--code", type=Path, help="folder holding a copy of the fim_server package to train with")
    report_parser = sub.add_parser("report", help="print the held-out loss table and plot it")
    report_parser.add_argument("--plot", type=Path, help="write the loss curves (PNG) here")
    for command in (train_parser, report_parser):
        command.add_argument("--out", type=Path, default=REPO / "work/matched", help="folder of the three runs")
    args = parser.parse_args()
    return train(args) if args.command == "train" else report(args)


if __name__ == "__main__":
    raise SystemExit(main())
