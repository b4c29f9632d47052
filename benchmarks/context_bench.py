"""Benchmark the context layer on a 5,000-line file while typing.

After each one-character edit it times context extraction (window and mode,
incremental reparse included), post-processing (filters) and the syntax
validity check, and prints p50/p95 in milliseconds. It also prints RSS after
the first parse, after 1,000 edits and at the end. Then it types into the
middle of a minified JavaScript bundle that is one line of a few megabytes.

    nice -n 5 .venv/bin/python benchmarks/context_bench.py [--lines 5000] [--edits 10000] [--minified-mb 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import time
from array import array
from collections.abc import Iterator
from contextlib import contextmanager

from fim_server.context import Document, extract_window, postprocess, syntax_error_delta

COMPLETIONS = [
    "total + 1",
    "compute(values)\n        return result",
    "for item in items:\n            total += item.price\n        return total",
    'print("done")<|eom|>',
]
TYPED_LINES = [
    "        total += compute(value, index)\n",
    "        if total > self.limit:\n            return None\n",
    '        self.items.append({"name": self.name, "total": total})\n',
    "        # keep the running total\n",
]


def python_file(lines: int) -> str:
    """Return about ``lines`` lines of varied Python: classes, methods, loops, strings, comments."""
    parts = ["import os\nimport sys\n\n\n"]
    count = 4
    index = 0
    while count < lines:
        part = (
            f"class Worker{index}:\n"
            f'    """Process batch {index} and keep running totals."""\n\n'
            f"    def __init__(self, name, limit={index}):\n"
            f"        self.name = name\n"
            f"        self.limit = limit\n"
            f"        self.items = []\n\n"
            f"    def run(self, values):\n"
            f"        total = 0\n"
            f"        for value in values:\n"
            f"            if value > self.limit:  # skip large values\n"
            f"                continue\n"
            f"            total += value * {index}\n"
            f'        message = f"{{self.name}}: {{total}}"\n'
            f"        return {{'total': total, 'message': message}}\n\n\n"
        )
        parts.append(part)
        count += part.count("\n")
        index += 1
    return "".join(parts)


class Typist:
    """Keystrokes of someone writing code.

    Real lines are typed character by character at the end of a method, with a
    backspace now and then and a jump to another place every few hundred keys.
    """

    def __init__(self, document: Document, rng: random.Random) -> None:
        self.rng = rng
        self.document = document
        self.pending = ""
        self.cursor = self._jump_target()

    def _jump_target(self) -> int:
        """Return the start of a line after a `return` line: the end of some method body."""
        text = self.document.text
        start = text.find("        return {", self.rng.randrange(len(text)))
        if start < 0:
            start = text.find("        return {")
        return text.index("\n", start) + 1

    def next_edit(self) -> tuple[int, int, str]:
        """Return (start, end, text) of the next keystroke."""
        if self.rng.random() < 0.005:
            self.cursor = self._jump_target()
            self.pending = ""
        if not self.pending:
            self.pending = self.rng.choice(TYPED_LINES)
        if self.rng.random() < 0.05 and self.cursor > 0 and self.document.text[self.cursor - 1] != "\n":
            self.pending = self.document.text[self.cursor - 1] + self.pending
            return self.cursor - 1, self.cursor, ""
        typed, self.pending = self.pending[0], self.pending[1:]
        return self.cursor, self.cursor, typed


class Samples:
    """Wall-clock and thread CPU times in milliseconds, stored in arrays allocated up front.

    The arrays are allocated before the first RSS reading, so the RSS figures
    show the context layer and not the benchmark's own bookkeeping. CPU time
    shows the cost without waits for a core on a busy machine.
    """

    def __init__(self, size: int) -> None:
        self.wall = array("d", bytes(8 * size))
        self.cpu = array("d", bytes(8 * size))
        self.count = 0

    @contextmanager
    def timed(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.thread_time()
        yield
        self.wall[self.count] = (time.perf_counter() - wall) * 1000
        self.cpu[self.count] = (time.thread_time() - cpu) * 1000
        self.count += 1

    def report(self, name: str) -> None:
        wall, cpu = sorted(self.wall[: self.count]), sorted(self.cpu[: self.count])
        p95 = min(self.count - 1, int(0.95 * self.count))
        print(f"{name}: p50 {statistics.median(wall):.3f} ms, p95 {wall[p95]:.3f} ms wall; "
              f"p50 {statistics.median(cpu):.3f} ms, p95 {cpu[p95]:.3f} ms CPU; over {self.count} edits")


def current_rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(lines: int, edits: int, seed: int) -> None:
    rng = random.Random(seed)
    started = time.perf_counter()
    document = Document(python_file(lines), "python")
    document.tree  # noqa: B018 - the first, full parse
    full_parse_ms = (time.perf_counter() - started) * 1000
    context, context_text, post, validity = (Samples(edits) for _ in range(4))
    rss = {"after the first parse": current_rss_mib()}

    typist = Typist(document, rng)
    for number in range(edits):
        start, end, inserted = typist.next_edit()
        with context.timed():
            document.replace(start, end, inserted)
            typist.cursor = start + len(inserted)
            window = extract_window(document.text, typist.cursor, "python", document=document)
        if number % 10 == 0:  # the plain-text path diffs the whole text, so sample it
            with context_text.timed():
                extract_window(document.text, typist.cursor, "python", cache_key="bench.py")
        with post.timed():
            done = postprocess(COMPLETIONS[number % len(COMPLETIONS)], window)
        with validity.timed():
            syntax_error_delta(window, done.text, replace_chars=done.replace_chars)
        if number + 1 in (1000, edits):
            rss[f"after {number + 1} edits"] = current_rss_mib()

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"file: {document.index.line_count} lines, {len(document.source)} bytes at the end; "
          f"first full parse {full_parse_ms:.1f} ms")
    context.report("context with the document (edit + incremental reparse + window + mode)")
    context_text.report("context from plain text with a cache key (diff + edit + reparse + window)")
    post.report("post-processing (filters)")
    validity.report("validity check (two window parses)")
    readings = ", ".join(f"{value:.1f} MiB {when}" for when, value in rss.items())
    print(f"RSS: {readings}; peak {peak_rss:.1f} MiB")


def run_minified(megabytes: float, edits: int) -> None:
    """Time context extraction while typing in the middle of a one-line bundle of ``megabytes`` MB."""
    unit = 'var a=f("x",1);'
    text = unit * int(megabytes * 1e6 / len(unit))
    started = time.perf_counter()
    document = Document(text, "javascript")
    cursor = len(text) // 2 - len(text) // 2 % len(unit)  # between two statements
    extract_window(document.text, cursor, "javascript", document=document)
    first_ms = (time.perf_counter() - started) * 1000
    samples = Samples(edits)
    for number in range(edits):
        with samples.timed():
            document.replace(cursor, cursor, "xy="[number % 3])
            cursor += 1
            extract_window(document.text, cursor, "javascript", document=document)
    print(f"minified bundle: one line of {len(text) / 1e6:.1f} MB, first window {first_ms:.1f} ms")
    samples.report("context in the bundle (edit + reparse + window + mode)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lines", type=int, default=5000, help="size of the generated file in lines")
    parser.add_argument("--edits", type=int, default=10_000, help="number of one-character edits")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random edit sequence")
    parser.add_argument("--minified-mb", type=float, default=2.0, help="size of the one-line bundle in MB")
    args = parser.parse_args()
    run(args.lines, args.edits, args.seed)
    run_minified(args.minified_mb, 200)


if __name__ == "__main__":
    main()
