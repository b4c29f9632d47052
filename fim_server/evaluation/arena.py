"""Battles between every pair of systems on shared positions, and the judge's agreement with human votes."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass, field

from .datasets import ArenaVote
from .judge import DEFAULT_MARGIN, Judged, judge_battle, judge_completion
from .tasks import Task


@dataclass(frozen=True, slots=True)
class Battle:
    task_id: str
    suite: str
    first: str  # the system displayed first; the order is drawn at random per battle
    second: str
    outcome: float  # 1.0: first wins, 0.0: second wins, 0.5: tie
    reason: str


def fight_battles(judged: dict[str, dict[str, Judged]], tasks: list[Task], *, seed: int,
                  margin: float = DEFAULT_MARGIN) -> list[Battle]:
    """Judge every pair of systems on every task both of them completed.

    ``judged`` maps system -> task id -> judged completion; a missing task means the
    system does not handle it.
    """
    rng = random.Random(seed)
    battles = []
    for left, right in itertools.combinations(sorted(judged), 2):
        for task in tasks:
            if task.task_id not in judged[left] or task.task_id not in judged[right]:
                continue
            first, second = (left, right) if rng.random() < 0.5 else (right, left)
            verdict = judge_battle(judged[first][task.task_id], judged[second][task.task_id], margin=margin)
            battles.append(Battle(task.task_id, task.suite, first, second, verdict.outcome, verdict.reason))
    return battles


@dataclass(slots=True)
class Agreement:
    """How the judge's picks compare with the completions users accepted."""

    votes: int = 0
    decided: int = 0  # the judge picked a winner
    agreed: int = 0  # ... and it was the completion the user accepted
    first_accepted: int = 0  # votes for completion_a, the always-first baseline
    reasons: Counter = field(default_factory=Counter)
    defects_accepted: Counter = field(default_factory=Counter)
    defects_rejected: Counter = field(default_factory=Counter)

    @property
    def ties(self) -> int:
        return self.votes - self.decided


def judge_agreement(votes: list[ArenaVote], *, margin: float = DEFAULT_MARGIN) -> Agreement:
    """Judge completion_a against completion_b without ground truth and count agreement with the user."""
    result = Agreement()
    for vote in votes:
        first = judge_completion(vote.task, True, vote.completion_a)
        second = judge_completion(vote.task, True, vote.completion_b)
        verdict = judge_battle(first, second, margin=margin)
        accepted, rejected = (first, second) if vote.accepted_index == 0 else (second, first)
        result.votes += 1
        result.first_accepted += vote.accepted_index == 0
        result.defects_accepted.update(accepted.defects or ())
        result.defects_rejected.update(rejected.defects or ())
        if verdict.outcome == 0.5:
            result.reasons["tie"] += 1
            continue
        result.decided += 1
        pick = 0 if verdict.outcome == 1.0 else 1
        result.agreed += pick == vote.accepted_index
        result.reasons[verdict.reason] += 1
    return result


__all__ = ["Agreement", "Battle", "fight_battles", "judge_agreement"]
