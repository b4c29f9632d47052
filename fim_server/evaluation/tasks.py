"""Evaluation tasks (one cursor position each), suites and seeded subsampling.

A task is judged by execution when it carries a test program, by exact match and
edit similarity when it carries a reference middle, and by the no-reference
heuristics in ``judge.py`` otherwise.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
# Benchmark data sits beside the checkout unless FIM_SERVER_EVAL_DATA names another folder.
DEFAULT_DATA = Path(os.environ.get("FIM_SERVER_EVAL_DATA") or REPOSITORY.parent / "shared" / "data")


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One cursor position: the text on both sides and what the middle is judged against."""

    task_id: str  # "<suite>/<id in the source>", unique across suites
    suite: str
    prefix: str
    suffix: str
    language: str | None  # canonical name ("python", "javascript", ...) or None
    path: str | None = None  # file name hint for language detection
    reference: str | None = None  # the ground-truth middle
    test: str | None = None  # appended after prefix + middle + suffix; exit status 0 means passed
    entry_point: str | None = None  # passed to the test's check() function
    single_line: bool = False  # compare first lines only (single-line benchmarks)
    # Completion mode the benchmark requests: "line" or "block" where the hole is whole lines
    # (an editor user there sits on an empty line, where the server would pick that mode itself).
    mode: str = "auto"

    @property
    def judged_by(self) -> str:
        if self.test is not None:
            return "execution"
        if self.reference is not None:
            return "match"
        return "heuristic"

    def program(self, middle: str) -> str:
        """Return the test program for ``middle`` (execution tasks only)."""
        if self.test is None:
            raise ValueError(f"task {self.task_id} has no test program; it is judged by {self.judged_by}")
        check = f"\ncheck({self.entry_point})\n" if self.entry_point else "\n"
        return self.prefix + middle + self.suffix + "\n" + self.test + check


class DataError(ValueError):
    """A data file is missing or malformed; the message names the file and the fix."""


Loader = Callable[[Path], list[Task]]
SUITES: dict[str, Loader] = {}


def register_suite(name: str) -> Callable[[Loader], Loader]:
    """Register ``loader(data_root) -> tasks`` under ``name`` (used by ``--suites``)."""

    def decorate(loader: Loader) -> Loader:
        SUITES[name] = loader
        return loader

    return decorate


def load_suite(name: str, data_root: Path) -> list[Task]:
    """Load a registered suite, or a hole file given as ``holes:PATH``."""
    if name.startswith("holes:"):
        from .holes import load_holes

        return load_holes(Path(name.removeprefix("holes:")))
    if name not in SUITES:
        known = ", ".join(sorted(SUITES))
        raise DataError(f"unknown suite {name!r}: use one of {known}, or holes:PATH for a hole file")
    return SUITES[name](data_root)


def subsample(tasks: list[Task], limit: int | None, seed: int) -> list[Task]:
    """Return ``limit`` tasks drawn without replacement (all when limit is None), in source order.

    The draw depends only on the seed, the suite name and the task ids, so the
    same command selects the same positions on every machine.
    """
    if limit is None or limit >= len(tasks):
        return list(tasks)
    suite = tasks[0].suite if tasks else ""
    chosen = set(random.Random(f"{seed}:{suite}").sample(range(len(tasks)), limit))
    return [task for index, task in enumerate(tasks) if index in chosen]


# Keyword patterns for guessing the language of a snippet that comes without a file name.
_LANGUAGE_HINTS: tuple[tuple[str, str], ...] = (
    ("python", r"^\s*(def |class \w+[:(]|import \w|from \w+ import|elif |print\()|self\.|__init__"),
    ("typescript", r":\s*(string|number|boolean|void)\b|\binterface \w+\s*\{|import .* from '|: React\.|as const"),
    ("javascript", r"\b(function|const|let|var)\b|=>|console\.log|require\(|module\.exports|document\."),
    ("java", r"\b(public|private|protected) (static )?(final )?[\w<>\[\]]+ \w+\(|System\.out|\bimport java\."),
    ("cpp", r"#include\s*<(iostream|vector|string|map)>|std::|\bcout\b|template\s*<|nullptr"),
    ("c", r"#include\s*<\w+\.h>|\bprintf\(|\bmalloc\(|\bstruct \w+\s*\{"),
    ("go", r"^package \w+|\bfunc (\(\w+ \*?\w+\) )?\w+\(|:= |\bfmt\."),
    ("rust", r"\bfn \w+|\blet mut\b|\bimpl\b|::new\(|println!|&str\b"),
)


def guess_language(text: str) -> str | None:
    """Guess the language of a snippet from keyword counts; None when nothing matches.

    NOTE: this is a heuristic for inputs without a file name, such as the Copilot
    Arena rows. It confuses close relatives (C and C++, JavaScript and TypeScript)
    on short text.
    """
    sample = text[-20_000:]
    scores = {language: len(re.findall(pattern, sample, flags=re.MULTILINE)) for language, pattern in _LANGUAGE_HINTS}
    best = max(scores, key=lambda language: scores[language])
    if scores[best] == 0:
        return None
    if best == "javascript" and scores["typescript"] >= 2:
        return "typescript"
    if best == "c" and scores["cpp"] > 0:
        return "cpp"
    return best


__all__ = ["DEFAULT_DATA", "DataError", "SUITES", "Task", "guess_language", "load_suite", "register_suite", "subsample"]
