"""The automatic judge of one battle: two completions at the same position.

Rules, in order (the first that separates the two decides):

1. Execution (tasks with tests): a completion that passes beats one that fails;
   two passing completions tie.
2. Exact match with the reference middle (after the suite's normalisation);
   two exact matches tie.
3. Edit similarity to the reference: a gap of at least ``margin`` wins.
4. Without a reference: fewer defects (see ``heuristics.py``) wins, so a
   completion with one defect ties with an empty one and two defects lose to it.
5. Otherwise a tie.

A completion that failed, or arrived later than the deadline, counts as not
shown: the judge sees an empty text in its place.
"""

from __future__ import annotations

from dataclasses import dataclass

from .heuristics import completion_defects
from .metrics import match_scores
from .tasks import Task

DEFAULT_MARGIN = 0.1
DEFAULT_DEADLINE_MS = 1000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Judged:
    """One completion as the judge sees it."""

    shown: bool  # returned without error within the deadline
    text: str  # the text the user would see; empty when not shown
    passed: bool | None = None  # execution tasks only
    exact: bool | None = None  # tasks with a reference only
    similarity: float | None = None  # tasks with a reference only
    defects: tuple[str, ...] | None = None  # tasks without a reference only


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: float  # 1.0: the first completion wins, 0.0: the second wins, 0.5: tie
    reason: str


def shown_text(text: str | None, error: str | None, latency_ms: float, deadline_ms: float) -> tuple[bool, str]:
    """Return (shown, text the user sees) under the deadline rule."""
    if text is None or error is not None or latency_ms > deadline_ms:
        return False, ""
    return True, text


def judge_completion(task: Task, shown: bool, text: str, passed: bool | None = None) -> Judged:
    """Score a shown text against the task; ``passed`` comes from the sandbox for execution tasks."""
    if task.judged_by == "execution" and passed is None:
        raise ValueError(f"task {task.task_id} is judged by execution: pass the sandbox outcome")
    if task.reference is None:
        defects = completion_defects(text, task.prefix, task.suffix, task.language)
        return Judged(shown=shown, text=text, defects=defects)
    exact, similarity = match_scores(text, task.reference, single_line=task.single_line)
    return Judged(shown=shown, text=text, passed=passed, exact=exact, similarity=similarity)


def _winner(first_better: bool, reason: str) -> Verdict:
    return Verdict(1.0 if first_better else 0.0, reason)


def judge_battle(first: Judged, second: Judged, *, margin: float = DEFAULT_MARGIN) -> Verdict:
    """Decide a battle between two judged completions of the same task."""
    if first.passed is not None and second.passed is not None:
        if first.passed != second.passed:
            return _winner(first.passed, "execution")
        if first.passed:
            return Verdict(0.5, "both pass")
    if first.exact is not None and second.exact is not None:
        if first.exact != second.exact:
            return _winner(first.exact, "exact match")
        if first.exact:
            return Verdict(0.5, "both exact")
    if first.similarity is not None and second.similarity is not None:
        gap = first.similarity - second.similarity
        if abs(gap) >= margin:
            return _winner(gap > 0, "edit similarity")
    if first.defects is not None and second.defects is not None and len(first.defects) != len(second.defects):
        return _winner(len(first.defects) < len(second.defects), "fewer defects")
    return Verdict(0.5, "no clear difference")


__all__ = ["DEFAULT_DEADLINE_MS", "DEFAULT_MARGIN", "Judged", "Verdict", "judge_battle", "judge_completion",
           "shown_text"]
