"""Loaders for the public FIM benchmarks, read from a local data folder.

Expected layout under the data root (nothing is downloaded at run time)::

    human-eval-infilling/HumanEval-{SingleLine,MultiLine,RandomSpan}Infilling.jsonl.gz
    santacoder-fim/santacoder-fim-task.jsonl.gz
    crosscodeeval-sample/tabby_cceval_python_sample100.jsonl
    copilot-arena/copilot_arena_examples_v1.jsonl
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from .tasks import DataError, Task, guess_language, register_suite

HUMANEVAL_FILES = {
    "humaneval-single": ("HumanEval-SingleLineInfilling.jsonl.gz", True),
    "humaneval-multi": ("HumanEval-MultiLineInfilling.jsonl.gz", False),
    "humaneval-span": ("HumanEval-RandomSpanInfilling.jsonl.gz", False),
}
HUMANEVAL_MODES = {"humaneval-single": "line", "humaneval-multi": "block", "humaneval-span": "auto"}
SANTACODER_LANGUAGES = {"py": ("python", "task.py"), "js": ("javascript", "task.js"), "java": ("java", "Problem.java")}


def read_jsonl(path: Path) -> list[dict]:
    """Read a JSON-lines file (gzip when the name ends in .gz); blank lines are skipped."""
    if not path.is_file():
        raise DataError(f"data file {path} not found: pass --data with the folder that holds the benchmark folders")
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"invalid JSON on line {number} of {path}: {exc}") from None
    return rows


def _field(row: dict, name: str, path: Path):
    try:
        return row[name]
    except KeyError:
        raise DataError(f"missing field {name!r} in a row of {path}: fields present are {sorted(row)}") from None


def _humaneval_loader(suite: str, file_name: str, single_line: bool):
    def load(data_root: Path) -> list[Task]:
        path = data_root / "human-eval-infilling" / file_name
        return [
            Task(task_id=f"{suite}/{_field(row, 'task_id', path)}", suite=suite, prefix=_field(row, "prompt", path),
                 suffix=_field(row, "suffix", path), language="python", path="solution.py",
                 reference=_field(row, "canonical_solution", path), test=_field(row, "test", path),
                 entry_point=_field(row, "entry_point", path), single_line=single_line, mode=HUMANEVAL_MODES[suite])
            for row in read_jsonl(path)
        ]

    return load


for _suite, (_file, _single) in HUMANEVAL_FILES.items():
    register_suite(_suite)(_humaneval_loader(_suite, _file, _single))


@register_suite("santacoder")
def load_santacoder(data_root: Path) -> list[Task]:
    """Single-line holes in Python, JavaScript and Java, judged by exact match of the stripped line."""
    path = data_root / "santacoder-fim" / "santacoder-fim-task.jsonl.gz"
    tasks = []
    for row in read_jsonl(path):
        code = _field(row, "language", path)
        if code not in SANTACODER_LANGUAGES:
            raise DataError(f"unknown language {code!r} in {path}: expected one of {sorted(SANTACODER_LANGUAGES)}")
        language, file_name = SANTACODER_LANGUAGES[code]
        tasks.append(Task(task_id=f"santacoder/{code}/{_field(row, 'name', path)}", suite="santacoder",
                          prefix=_field(row, "prompt", path), suffix=_field(row, "suffix", path),
                          language=language, path=file_name, reference=_field(row, "canonical_solution", path),
                          single_line=True))
    return tasks


@register_suite("cceval")
def load_crosscodeeval(data_root: Path) -> list[Task]:
    """CrossCodeEval Python line completions; the cross-file context is not given to systems."""
    path = data_root / "crosscodeeval-sample" / "tabby_cceval_python_sample100.jsonl"
    tasks = []
    for row in read_jsonl(path):
        metadata = _field(row, "metadata", path)
        tasks.append(Task(task_id=f"cceval/{metadata['task_id']}", suite="cceval", prefix=_field(row, "prompt", path),
                          suffix=_field(row, "right_context", path), language="python", path=metadata.get("file"),
                          reference=_field(row, "groundtruth", path), single_line=True))
    return tasks


@dataclass(frozen=True, slots=True)
class ArenaVote:
    """One human vote: the user accepted ``completion_a`` (index 0) or ``completion_b`` (index 1)."""

    task: Task
    completion_a: str
    completion_b: str
    accepted_index: int


def arena_path(data_root: Path) -> Path:
    return data_root / "copilot-arena" / "copilot_arena_examples_v1.jsonl"


def load_arena_votes(data_root: Path) -> list[ArenaVote]:
    path = arena_path(data_root)
    votes = []
    for row in read_jsonl(path):
        prefix, suffix = _field(row, "prefix", path), _field(row, "suffix", path)
        task = Task(task_id=f"copilot-arena/{_field(row, 'id', path)}", suite="copilot-arena", prefix=prefix,
                    suffix=suffix, language=guess_language(prefix + suffix))
        accepted = _field(row, "acceptedIndex", path)
        if accepted not in (0, 1):
            raise DataError(f"invalid acceptedIndex {accepted!r} in {path} row {task.task_id}: expected 0 or 1")
        votes.append(ArenaVote(task, _field(row, "completion_a", path), _field(row, "completion_b", path), accepted))
    return votes


@register_suite("copilot-arena")
def load_copilot_arena(data_root: Path) -> list[Task]:
    """Real editor positions without ground truth; battles there use the no-reference heuristics."""
    return [vote.task for vote in load_arena_votes(data_root)]


__all__ = ["ArenaVote", "load_arena_votes", "read_jsonl"]
