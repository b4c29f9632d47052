"""Load benchmark: simulated editors typing against one ``fim-server serve`` on loopback.

Each editor takes a line of real code from this repository and types it one
character at a time. After every keystroke it sends a fill-in-the-middle
request (``POST /v1/fim/completions``) and waits for the reply. Then it pauses
a random 50-150 ms before the next key. For every (editors, batching) pair a fresh
server is started, so peak memory belongs to that run alone. Each run is bounded
by ``--keystrokes`` per editor and ``--max-seconds``, and stops by itself.

Run: ``nice -n 5 .venv/bin/python benchmarks/load_bench.py`` (add ``--editors 1 4``
or ``--keystrokes 4`` for a shorter run). Prints one row per run: throughput,
latency percentiles, batch sizes read from /metrics, and the server's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def code_lines(count: int, seed: int) -> list[tuple[str, str, str]]:
    """(text before the line, the line, text after it) for ``count`` non-trivial lines of repository code."""
    sources = sorted((REPO / "fim_server").rglob("*.py"))
    rng = random.Random(seed)
    picked = []
    while len(picked) < count:
        text = rng.choice(sources).read_text()
        lines = text.split("\n")
        candidates = [i for i, line in enumerate(lines) if 20 <= len(line.strip()) <= 80]
        if not candidates:
            continue
        index = rng.choice(candidates)
        before = "\n".join(lines[:index]) + "\n"
        picked.append((before, lines[index], "\n" + "\n".join(lines[index + 1 :])))
    return picked


async def editor(client: httpx.AsyncClient, document, keystrokes: int, stop_at: float, rng: random.Random,
                 latencies: list[float], errors: list[str]) -> None:
    before, line, after = document
    indent = len(line) - len(line.lstrip())
    for typed in range(indent + 1, min(len(line), indent + keystrokes) + 1):
        if time.monotonic() > stop_at:
            return
        body = {"prompt": before + line[:typed], "suffix": after, "max_tokens": 48}
        started = time.perf_counter()
        try:
            response = await client.post("/v1/fim/completions", json=body)
            if response.status_code != 200:
                errors.append(f"{response.status_code}: {response.text[:120]}")
            else:
                latencies.append((time.perf_counter() - started) * 1000)
        except httpx.HTTPError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(rng.uniform(0.05, 0.15))


def histogram_summary(metrics: str, name: str) -> tuple[float, int]:
    """Return (mean, largest bucket bound that contains an observation) of a Prometheus histogram."""
    total = float(re.search(rf"^{name}_sum (\S+)$", metrics, re.M).group(1))
    count = float(re.search(rf"^{name}_count (\S+)$", metrics, re.M).group(1))
    buckets = re.findall(rf'^{name}_bucket{{le="([^"]+)"}} (\S+)$', metrics, re.M)
    largest, previous = 0, 0.0
    for bound, cumulative in buckets:
        if float(cumulative) > previous and bound != "+Inf":
            largest = int(float(bound))
        previous = float(cumulative)
    return (total / count if count else 0.0), largest


def cache_misses(metrics: str) -> str:
    """Share of finished fills whose context had to be encoded from scratch, as "misses/fills"."""
    counts = dict(re.findall(r'^fim_context_cache_total{state="(\w+)"} (\d+)$', metrics, re.M))
    return f"{counts.get('miss', '0')}/{sum(int(value) for value in counts.values())}"


def peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def start_server(port: int, batching: bool, args) -> subprocess.Popen:
    socket_path = Path(tempfile.mkdtemp(prefix="fimb-", dir="/tmp")) / "daemon.sock"
    command = [sys.executable, "-m", "fim_server.cli", "serve", "--socket", str(socket_path),
               "--http-port", str(port), "--threads", str(args.threads), "--dtype", args.dtype,
               "--effort", args.effort, "--max-batch", str(args.max_batch),
               "--context-slots", str(args.context_slots)]
    if args.model:
        command += ["--model", args.model]
    if not batching:
        command.append("--no-batching")
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}: {server.stderr.read()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("server start timed out: /health returned no 200 within 120 s; run the serve command by hand")


async def run_load(port: int, editors: int, args) -> dict:
    documents = code_lines(editors, seed=args.seed)
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=editors + 2)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits) as client:
        await client.post("/v1/fim/completions", json={"prompt": "x = ", "suffix": "\n"})  # warm-up
        stop_at = time.monotonic() + args.max_seconds
        started = time.perf_counter()
        await asyncio.gather(*(editor(client, documents[i], args.keystrokes, stop_at, random.Random(args.seed + i),
                                      latencies, errors) for i in range(editors)))
        wall = time.perf_counter() - started
        metrics = (await client.get("/metrics")).text
    return {"latencies": latencies, "errors": errors, "wall": wall, "metrics": metrics}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else float("nan")


def report_row(editors: int, batching: bool, outcome: dict, rss: float) -> str:
    latencies = outcome["latencies"]
    requests_mean, requests_max = histogram_summary(outcome["metrics"], "fim_batch_requests")
    rows_mean, rows_max = histogram_summary(outcome["metrics"], "fim_batch_rows")
    return (f"{editors:>7} {'on' if batching else 'off':>8} {len(latencies):>8} {len(outcome['errors']):>6} "
            f"{len(latencies) / outcome['wall']:>8.2f} {statistics.median(latencies) if latencies else 0:>8.0f} "
            f"{percentile(latencies, 0.95):>8.0f} {percentile(latencies, 0.99):>8.0f} "
            f"{requests_mean:>6.2f} {requests_max:>5} {rows_mean:>6.2f} {cache_misses(outcome['metrics']):>7} "
            f"{rss:>9.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--editors", type=int, nargs="+", default=[1, 4, 16], help="concurrent editors per run")
    parser.add_argument("--keystrokes", type=int, default=8, help="requests per editor (default 8)")
    parser.add_argument("--max-seconds", type=float, default=90.0, help="time cap per run in seconds (default 90)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the server (default 1)")
    parser.add_argument("--dtype", default="auto", help="model dtype: auto, bfloat16 or float32 (default auto)")
    parser.add_argument("--effort", default="low", help="effort for every request (default low)")
    parser.add_argument("--max-batch", type=int, default=16, help="canvas rows per batched step (default 16)")
    parser.add_argument("--context-slots", type=int, default=32, help="cached contexts in the server (default 32)")
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} before the runs")
    print(f"{'editors':>7} {'batching':>8} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} "
          f"{'p95 ms':>8} {'p99 ms':>8} {'req/st':>6} {'max':>5} {'rows/st':>6} {'misses':>7} {'peak MiB':>9}")
    for batching in (True, False):
        for editors in args.editors:
            port = free_port()
            server = start_server(port, batching, args)
            try:
                outcome = asyncio.run(run_load(port, editors, args))
                rss = peak_rss_mib(server.pid)
            finally:
                server.terminate()
                server.wait(timeout=30)
            print(report_row(editors, batching, outcome, rss), flush=True)
            for error in outcome["errors"][:3]:
                print(f"        error: {error}")
    print("req/st: mean requests sharing one denoising step; max: largest histogram bucket reached; "
          "rows/st: mean canvas rows per step; misses: fills that encoded their context from scratch; "
          "peak MiB: server VmHWM")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
