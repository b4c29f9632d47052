"""Replay real typing through ``fim-server lsp`` and measure keystroke-to-ghost-text latency.

A client types a real source file (by default ``textwrap.py`` from the Python
standard library) into an empty document, one keystroke at a time, at a steady
rate with ±30 % jitter. After half of the line ends it pauses for 0.4 to 1.5 s,
as people do between lines. A newline and the next line's indentation
form one keystroke, as an editor's auto-indent does. Each keystroke sends ``didChange``
and an automatic ``textDocument/inlineCompletion`` request, and cancels the
previous request if it is still open, as VS Code does. When the last
suggestion matches the text that comes next in the file, the simulated user
accepts it (one edit that inserts the whole suggestion), which exercises the
speculative call.

Phase 1 (``--keys`` at ``--rate`` keys/s) prints latency percentiles by
outcome, the cache-hit rate and model calls per keystroke. Phase 2
(``--memory-edits`` at ``--memory-rate``) types a longer session into a second
document and samples the server's resident memory, to show whether memory
grows with the number of edits.

Usage::

    nice -n 5 .venv/bin/python benchmarks/lsp_typing.py          # bundled model, both phases
    .venv/bin/python benchmarks/lsp_typing.py --keys 200 --memory-edits 0
    .venv/bin/python benchmarks/lsp_typing.py --test-engine '{}'  # scripted engine: protocol overhead only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

HIT_KINDS = ("exact", "type_through")
TEST_ENGINE_VARIABLE = "FIM_SERVER_LSP_TEST_ENGINE"
REPLY_TIMEOUT_S = 600


@dataclass
class Keystroke:
    msg_id: str
    sent: float
    replied: float | None = None
    cancelled: bool = False
    suggestion: str = ""
    future: object = None


@dataclass
class Session:
    client: LanguageClient
    uri: str
    text: str = ""
    version: int = 1
    keystrokes: list[Keystroke] = field(default_factory=list)
    accepts: int = 0
    position: int = 0  # characters of the source file typed so far


def oracle_script(source: str, context_chars: int = 60) -> str:
    """Build a scripted-engine script that suggests the rest of each line at the line's first column.

    The script replaces the model with one that is always right at line starts, so
    the cache, type-through and accept paths can be timed apart from model speed.
    """
    rules = []
    position = 0
    for line in source.splitlines(keepends=True):
        body = line.rstrip("\n")
        indent = len(body) - len(body.lstrip(" \t"))
        if body.strip() and position + indent >= context_chars:
            cursor = position + indent
            rules.append({"after": source[cursor - context_chars : cursor], "text": body[indent:]})
        position += len(line)
    return json.dumps({"text": "", "rules": rules, "steps": 4})


def next_keystroke(source: str, position: int) -> str:
    """Return the keystroke at ``position``; a newline carries the next line's indentation."""
    if source[position] != "\n":
        return source[position]
    end = position + 1
    while end < len(source) and source[end] in " \t":
        end += 1
    return source[position:end]


def lsp_end_position(text: str) -> types.Position:
    """Return the LSP position (UTF-16 columns) of the end of ``text``."""
    last = text[text.rfind("\n") + 1 :]
    return types.Position(line=text.count("\n"), character=len(last.encode("utf-16-le")) // 2)


def memory_kib(pid: int) -> dict[str, int]:
    """Return VmRSS and VmHWM (peak resident set) of a process in KiB, read from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def insert(session: Session, inserted: str) -> None:
    at = lsp_end_position(session.text)
    session.version += 1
    session.text += inserted
    session.client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=session.uri, version=session.version),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text=inserted)]))


def request(session: Session, msg_id: str) -> Keystroke:
    """Send an automatic inline completion request at the end of the document."""
    keystroke = Keystroke(msg_id, time.perf_counter())
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=session.uri), position=lsp_end_position(session.text),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic))

    def done(finished) -> None:
        keystroke.replied = time.perf_counter()
        if finished.exception() is not None:
            keystroke.cancelled = True
            return
        result = finished.result() or []
        items = result.items if isinstance(result, types.InlineCompletionList) else result
        keystroke.suggestion = items[0].insert_text if items else ""

    keystroke.future = session.client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params,
                                                             msg_id=msg_id)
    keystroke.future.add_done_callback(done)
    return keystroke


def think_time(rng: random.Random, rate: float, inserted: str, pause_chance: float) -> float:
    """Return the seconds before the next keystroke: the typing interval, or a pause after a line end."""
    if inserted.startswith("\n") and rng.random() < pause_chance:
        return rng.uniform(0.4, 1.5)
    return rng.uniform(0.7, 1.3) / rate


async def type_source(session: Session, source: str, keys: int, rate: float, rng: random.Random, tag: str,
                      pause_chance: float) -> None:
    """Type until the session has ``keys`` keystrokes, at ``rate`` per second, accepting matching suggestions."""
    previous = session.keystrokes[-1] if session.keystrokes else None
    inserted = ""
    while len(session.keystrokes) < keys:
        if session.position >= len(source):
            session.position = 0  # type the file again below what was typed
        await asyncio.sleep(think_time(rng, rate, inserted, pause_chance))
        if previous is not None and previous.replied is None:
            session.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=previous.msg_id))
        suggestion = previous.suggestion if previous is not None else ""
        if suggestion and source.startswith(suggestion, session.position):
            inserted = suggestion  # the user accepts the ghost text
            session.accepts += 1
        else:
            inserted = next_keystroke(source, session.position)
        insert(session, inserted)
        session.position += len(inserted)
        previous = request(session, f"{tag}-{len(session.keystrokes)}")
        session.keystrokes.append(previous)
    pending = [asyncio.wrap_future(k.future) for k in session.keystrokes if k.replied is None]
    await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), REPLY_TIMEOUT_S)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summarize(label: str, values_ms: list[float]) -> str:
    if not values_ms:
        return f"  {label:<34} n=0"
    return (f"  {label:<34} n={len(values_ms):<5} p50 {percentile(values_ms, 0.5):8.1f} ms   "
            f"p95 {percentile(values_ms, 0.95):8.1f} ms   mean {statistics.fmean(values_ms):8.1f} ms")


async def server_stats(client: LanguageClient, recent: bool) -> dict:
    result = await client.protocol.send_request_async("fimServer/stats", {"recent": recent})
    return _plain(result)


def _plain(value):
    """Turn the namedtuples pygls builds for untyped results into dicts and lists."""
    if hasattr(value, "_asdict"):
        return {key: _plain(item) for key, item in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def latency_groups(session: Session, kinds: dict[str, str]) -> tuple[dict[str, list[float]], int]:
    """Sort reply latencies (ms) by outcome; also return how many requests the client cancelled."""
    groups: dict[str, list[float]] = {"all replies": [], "ghost text shown": [], "cache hits": [],
                                      "joined a speculative call": [], "model calls": [],
                                      "superseded (empty reply)": [], "no suggestion": []}
    cancelled = 0
    for keystroke in session.keystrokes:
        if keystroke.cancelled or keystroke.replied is None:
            cancelled += 1
            continue
        latency = (keystroke.replied - keystroke.sent) * 1000
        kind = kinds.get(keystroke.msg_id, "unknown")
        groups["all replies"].append(latency)
        if keystroke.suggestion:
            groups["ghost text shown"].append(latency)
        if kind in HIT_KINDS:
            groups["cache hits"].append(latency)
        elif kind == "joined":
            groups["joined a speculative call"].append(latency)
        elif kind == "model":
            groups["model calls"].append(latency)
        elif kind == "superseded":
            groups["superseded (empty reply)"].append(latency)
        if not keystroke.suggestion and kind != "superseded":
            groups["no suggestion"].append(latency)
    return groups, cancelled


def report_typing(session: Session, stats: dict, elapsed_s: float) -> None:
    kinds = {item["id"]: item["kind"] for item in stats.get("recent", [])}
    groups, cancelled = latency_groups(session, kinds)
    keys = len(session.keystrokes)
    print(f"\nPhase 1: {keys} keystrokes in {elapsed_s:.1f} s ({keys / elapsed_s:.1f} keys/s), "
          f"{session.accepts} accepted suggestions, {cancelled} requests cancelled by the client")
    print("keystroke-to-reply latency (request sent -> reply received):")
    for label, values in groups.items():
        print(summarize(label, values))

    hits, model = len(groups["cache hits"]), len(groups["model calls"])
    joined = len(groups["joined a speculative call"])
    print(f"cache-hit rate: {hits / max(1, hits + joined + model):.1%} of replies with a cache or model result "
          f"({hits} hits, {joined} joined a speculative call, {model} model calls); "
          f"{hits / max(1, keys):.1%} of all keystrokes")
    thread = stats["engineThread"]
    print(f"model calls per keystroke: {stats['modelCalls'] / max(1, keys):.2f} "
          f"(engine fills finished {thread['fills']}, stopped by a cancel {thread['cancelledFills']}, "
          f"speculative calls {stats['speculativeCalls']})")
    hit_ms = [item["serverMs"] for item in stats.get("recent", []) if item["kind"] in HIT_KINDS]
    print(summarize("cache hits inside the server", hit_ms).strip()
          + "  (handler start to reply; the rest of the latency is transport and JSON)")
    latency = stats["modelLatencyMs"]
    if latency:
        print(f"model call time in the server (pipeline, calls that returned): n={latency['count']} "
              f"p50 {latency['p50']:.1f} ms   p95 {latency['p95']:.1f} ms")
    print(f"server outcomes: {json.dumps(stats['outcomes'], sort_keys=True)}")


async def start_client(args) -> tuple[LanguageClient, int]:
    env = dict(os.environ)
    env.pop(TEST_ENGINE_VARIABLE, None)
    if args.test_engine:
        env[TEST_ENGINE_VARIABLE] = args.test_engine
    # The client never reads the server's stderr pipe, so the logs go to a file instead.
    command = [sys.executable, "-m", "fim_server.cli", "lsp", "--log-file", args.server_log]
    if args.threads:
        command += ["--threads", str(args.threads)]
    client = LanguageClient("lsp-typing-benchmark", "1")
    client.feature(types.WINDOW_LOG_MESSAGE)(lambda params: None)  # the server's log is in --server-log
    client.feature(types.WINDOW_SHOW_MESSAGE)(lambda params: print(f"server message: {params.message}"))
    await client.start_io(*command, env=env)
    options = {key: value for key, value in (("effort", args.effort), ("typingEffort", args.typing_effort)) if value}
    options = options or None
    await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(
            general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
            text_document=types.TextDocumentClientCapabilities(
                inline_completion=types.InlineCompletionClientCapabilities())),
        client_info=types.ClientInfo(name="lsp-typing-benchmark"), initialization_options=options))
    client.initialized(types.InitializedParams())
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    while (await server_stats(client, False))["engineThread"] is None:
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not load its model in time")
        await asyncio.sleep(0.1)
    return client, client._server.pid


def open_document(client: LanguageClient, uri: str) -> Session:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text="")))
    return Session(client, uri)


async def warm_up(client: LanguageClient, source: str) -> None:
    """Run three model calls first, so one-time costs (thread pools, allocator) stay out of the figures."""
    session = open_document(client, "file:///benchmark/warm_up.py")
    insert(session, source[:400])
    for number in range(3):
        keystroke = request(session, f"warm-{number}")
        await asyncio.wait_for(asyncio.wrap_future(keystroke.future), REPLY_TIMEOUT_S)
        insert(session, "\n")


async def memory_phase(client: LanguageClient, pid: int, source: str, args, rng: random.Random) -> None:
    session = open_document(client, "file:///benchmark/memory_session.py")
    samples = [(0, memory_kib(pid)["VmRSS"])]
    started = time.perf_counter()
    step = max(1, args.memory_edits // 10)
    while len(session.keystrokes) < args.memory_edits:
        target = min(args.memory_edits, len(session.keystrokes) + step)
        await type_source(session, source, target, args.memory_rate, rng, "memory", pause_chance=0.0)
        samples.append((len(session.keystrokes), memory_kib(pid)["VmRSS"]))
    elapsed = time.perf_counter() - started
    print(f"\nPhase 2: {len(session.keystrokes)} edits in {elapsed:.1f} s, "
          f"document now {len(session.text):,} characters")
    print("server resident memory (VmRSS) by edits typed: "
          + ", ".join(f"{edits}: {kib / 1024:.0f} MiB" for edits, kib in samples))


def engine_name(args) -> str:
    if args.oracle:
        return "scripted oracle (the rest of each line at its first column)"
    return "scripted test engine" if args.test_engine else "bundled model"


async def run(args) -> None:
    source = Path(args.file).read_text(encoding="utf-8")
    rng = random.Random(args.seed)
    print(f"command: {' '.join(sys.argv)}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average at start "
          f"{os.getloadavg()[0]:.2f}; engine: {engine_name(args)}")
    print(f"typing {args.file} ({len(source):,} characters) at {args.rate} keys/s, "
          f"pausing after {args.pause_chance:.0%} of line ends")
    client, pid = await start_client(args)
    try:
        print(f"server pid {pid}, resident memory after model load {memory_kib(pid)['VmRSS'] / 1024:.0f} MiB")
        await warm_up(client, source)
        session = open_document(client, "file:///benchmark/typing.py")
        started = time.perf_counter()
        await type_source(session, source, args.keys, args.rate, rng, "key", args.pause_chance)
        elapsed = time.perf_counter() - started
        report_typing(session, await server_stats(client, True), elapsed)
        if args.memory_edits:
            await memory_phase(client, pid, source, args, rng)
        memory = memory_kib(pid)
        print(f"\npeak server memory (VmHWM): {memory['VmHWM'] / 1024:.0f} MiB; "
              f"now (VmRSS) {memory['VmRSS'] / 1024:.0f} MiB; load average at end {os.getloadavg()[0]:.2f}")
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", default=textwrap.__file__, help="source file to type (default: textwrap.py)")
    parser.add_argument("--keys", type=int, default=600, help="keystrokes in phase 1 (default 600)")
    parser.add_argument("--rate", type=float, default=7.0, help="keystrokes per second in phase 1 (default 7)")
    parser.add_argument("--pause-chance", type=float, default=0.5,
                        help="chance of a 0.4-1.5 s pause after a line end in phase 1 (default 0.5)")
    parser.add_argument("--memory-edits", type=int, default=10_000,
                        help="edits in phase 2, the memory session; 0 skips it (default 10000)")
    parser.add_argument("--memory-rate", type=float, default=40.0,
                        help="edits per second in phase 2 (default 40)")
    parser.add_argument("--effort", help="effort setting sent as initializationOptions (default: the server's)")
    parser.add_argument("--typing-effort", help="typingEffort setting, the effort of these automatic requests "
                                                "(default: the server's, instant)")
    parser.add_argument("--threads", type=int, help="torch CPU threads for the server")
    parser.add_argument("--seed", type=int, default=1, help="seed for the keystroke jitter")
    parser.add_argument("--test-engine", help="JSON script for the scripted test engine instead of the model")
    parser.add_argument("--oracle", action="store_true",
                        help="scripted engine that suggests the rest of each line of the file at its first "
                             "column: times the cache, type-through and accept paths apart from the model")
    parser.add_argument("--server-log", default=os.path.join(tempfile.gettempdir(), "fim-server-lsp-typing.log"),
                        help="file for the server's logs (default: lsp-typing log in the temp folder)")
    args = parser.parse_args(argv)
    if args.oracle:
        args.test_engine = oracle_script(Path(args.file).read_text(encoding="utf-8"))
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
