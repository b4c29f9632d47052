"""Cut FIM holes from a local source folder at realistic cursor positions.

Three kinds, in equal shares:

- ``line``: the rest of a line, from the start of its code or from a token
  boundary inside it (after ``=``, ``(``, ``.``, ``,``, ``:`` or a space);
- ``block``: one to eight body lines under a block header (a line ending in
  ``:`` or ``{``), from the start of the first body line's code;
- ``span``: a random span of up to three lines that starts and ends at token
  boundaries.

Every choice comes from one ``random.Random(seed)``, and the holes are saved to
a JSON-lines file with their text, so a run can be repeated after the source
folder changes.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from ..context import detect_language
from .tasks import DataError, Task

KINDS = ("line", "block", "span")
HOLE_MODES = {"line": "line", "block": "block"}  # a span hole may start or end inside a line
SKIPPED_FOLDERS = {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", "build", "dist", "site-packages",
                   ".tox", ".mypy_cache", ".pytest_cache", ".eggs", "models", "runs"}
BOUNDARY_CHARS = "=(.,: [{"
MAX_FILE_CHARS = 200_000
PREFIX_CHARS, SUFFIX_CHARS = 4000, 2000
MAX_ATTEMPTS = 50


@dataclass(frozen=True, slots=True)
class Hole:
    id: str  # "<path>:<line>:<character>:<kind>", line and character zero-based
    kind: str
    path: str  # relative to the source folder
    language: str | None
    prefix: str
    middle: str
    suffix: str


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    language: str | None
    text: str
    lines: list[str]
    line_starts: list[int]


def iter_source_files(root: Path, skip_digests: frozenset[str] = frozenset(),
                      only_digests: frozenset[str] | None = None) -> Iterator[SourceFile]:
    """Yield readable source files under ``root`` in sorted order, skipping vendored folders.

    A file whose SHA-256 is in ``skip_digests`` is skipped; when ``only_digests`` is
    given, only files whose digest is in it are kept.
    """
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in SKIPPED_FOLDERS or part.endswith(".egg-info") for part in relative.parts[:-1]):
            continue
        language = detect_language(None, path.name)
        if language is None or not path.is_file():
            continue
        try:
            text = path.read_text("utf-8", errors="replace")
        except OSError:
            continue
        if "\x00" in text or len(text) > MAX_FILE_CHARS or text.count("\n") < 5:
            continue
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest in skip_digests or (only_digests is not None and digest not in only_digests):
            continue
        lines = text.split("\n")
        starts = [0]
        for line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        yield SourceFile(str(relative), language, text, lines, starts)


def corpus_digests(corpus_jsonl: Path) -> frozenset[str]:
    """Return SHA-256 digests of the ``text`` of every record in a corpus JSON-lines file."""
    digests = set()
    with open(corpus_jsonl, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                digests.add(hashlib.sha256(json.loads(line)["text"].encode()).hexdigest())
    return frozenset(digests)


def _code_start(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _boundaries(line: str, start: int) -> list[int]:
    """Cursor columns at token boundaries: the start of code and after each boundary character."""
    found = [start]
    for column in range(start, len(line) - 1):
        if line[column] in BOUNDARY_CHARS and not line[column + 1].isspace():
            found.append(column + 1)
    return found


def _cut_line(source: SourceFile, rng: random.Random) -> tuple[int, int] | None:
    number = rng.randrange(len(source.lines))
    line = source.lines[number]
    start = _code_start(line)
    if len(line.strip()) < 2:
        return None
    column = start if rng.random() < 0.5 else rng.choice(_boundaries(line, start))
    offset = source.line_starts[number] + column
    return offset, source.line_starts[number] + len(line.rstrip())


def _body_end(source: SourceFile, header: int) -> int:
    """Return the index one past the last body line under the header line."""
    header_indent = _code_start(source.lines[header])
    end = header + 1
    while end < len(source.lines):
        line = source.lines[end]
        if line.strip() and _code_start(line) <= header_indent:
            break
        end += 1
    while end > header + 1 and not source.lines[end - 1].strip():
        end -= 1
    return end


def _cut_block(source: SourceFile, rng: random.Random) -> tuple[int, int] | None:
    headers = [i for i, line in enumerate(source.lines[:-1]) if line.rstrip().endswith((":", "{"))]
    if not headers:
        return None
    header = rng.choice(headers)
    end = _body_end(source, header)
    first = header + 1
    if end <= first or not source.lines[first].strip():
        return None
    last = min(end, first + rng.randint(1, 8)) - 1
    offset = source.line_starts[first] + _code_start(source.lines[first])
    return offset, source.line_starts[last] + len(source.lines[last].rstrip())


def _cut_span(source: SourceFile, rng: random.Random) -> tuple[int, int] | None:
    number = rng.randrange(len(source.lines))
    line = source.lines[number]
    if not line.strip():
        return None
    offset = source.line_starts[number] + rng.choice(_boundaries(line, _code_start(line)))
    last = min(len(source.lines) - 1, number + rng.randint(0, 2))
    limit = source.line_starts[last] + len(source.lines[last].rstrip())
    ends = [i for i in range(offset + 1, limit + 1)
            if not source.text[i - 1].isspace() and (i == limit or source.text[i] in BOUNDARY_CHARS + "\n)]};")]
    if not ends:
        return None
    return offset, rng.choice(ends)


CUTTERS = {"line": _cut_line, "block": _cut_block, "span": _cut_span}


def _context_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Return where the saved prefix starts and the saved suffix ends, cut at line breaks."""
    prefix_start = max(0, start - PREFIX_CHARS)
    if prefix_start > 0:
        newline = text.find("\n", prefix_start, start)
        if newline >= 0:
            prefix_start = newline + 1
    suffix_end = min(len(text), end + SUFFIX_CHARS)
    if suffix_end < len(text):
        newline = text.rfind("\n", end, suffix_end)
        if newline > end:
            suffix_end = newline
    return prefix_start, suffix_end


def _make_hole(source: SourceFile, kind: str, start: int, end: int) -> Hole:
    line = source.text.count("\n", 0, start)
    character = start - source.line_starts[line]
    prefix_start, suffix_end = _context_bounds(source.text, start, end)
    return Hole(id=f"{source.path}:{line}:{character}:{kind}", kind=kind, path=source.path, language=source.language,
                prefix=source.text[prefix_start:start], middle=source.text[start:end],
                suffix=source.text[end:suffix_end])


def cut_holes(root: Path, *, count: int, seed: int, skip_digests: frozenset[str] = frozenset(),
              only_digests: frozenset[str] | None = None) -> list[Hole]:
    """Cut ``count`` distinct holes from the source files under ``root``, kinds in turn."""
    files = list(iter_source_files(root, skip_digests, only_digests))
    if not files:
        raise DataError(f"no source files found under {root}: expected files with a known extension (.py, .js, ...)")
    rng = random.Random(seed)
    holes: dict[str, Hole] = {}
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        for _ in range(MAX_ATTEMPTS):
            source = rng.choice(files)
            cut = CUTTERS[kind](source, rng)
            if cut is None or not source.text[cut[0]:cut[1]].strip():
                continue
            hole = _make_hole(source, kind, *cut)
            if hole.id not in holes:
                holes[hole.id] = hole
                break
    return list(holes.values())


def save_holes(holes: list[Hole], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for hole in holes:
            handle.write(json.dumps(asdict(hole), ensure_ascii=False) + "\n")


def load_holes(path: Path) -> list[Task]:
    """Load a hole file as tasks of suite ``holes-<file stem>``."""
    from .datasets import read_jsonl

    suite = f"holes-{path.stem}"
    tasks = []
    for row in read_jsonl(path):
        try:
            tasks.append(Task(task_id=f"{suite}/{row['id']}", suite=suite, prefix=row["prefix"], suffix=row["suffix"],
                              language=row["language"], path=row["path"], reference=row["middle"],
                              single_line=row["kind"] == "line", mode=HOLE_MODES.get(row["kind"], "auto")))
        except KeyError as exc:
            raise DataError(f"missing field {exc} in hole file {path}: cut it again with `fim-server eval holes`") from None
    return tasks


__all__ = ["Hole", "corpus_digests", "cut_holes", "load_holes", "save_holes"]
