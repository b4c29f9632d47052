"""Scores for one completion against a reference, and pass@k over samples."""

from __future__ import annotations

import math

from rapidfuzz.distance import Levenshtein


def pass_at_k(samples: int, correct: int, k: int) -> float:
    """Return the unbiased pass@k estimate ``1 - C(n-c, k) / C(n, k)`` for one task.

    ``samples`` (n) completions were drawn and ``correct`` (c) of them passed. The
    product form ``prod_{i=n-c+1..n} (1 - k/i)`` equals ``C(n-c, k) / C(n, k)`` and
    avoids huge binomials (Chen et al. 2021, "Evaluating Large Language Models
    Trained on Code", appendix A).
    """
    if samples < 1 or not 0 <= correct <= samples:
        raise ValueError(f"invalid counts: samples={samples}, correct={correct}; need 0 <= correct <= samples, samples >= 1")
    if not 1 <= k <= samples:
        raise ValueError(f"invalid k={k}: pass@k needs 1 <= k <= samples ({samples})")
    if samples - correct < k:
        return 1.0
    failing_all = 1.0
    for drawn in range(samples - correct + 1, samples + 1):
        failing_all *= 1.0 - k / drawn
    return 1.0 - failing_all


def mean_pass_at_k(counts: list[tuple[int, int]], k: int) -> float:
    """Average pass@k over tasks given (samples, correct) per task; tasks with fewer than k samples are skipped."""
    values = [pass_at_k(n, c, k) for n, c in counts if n >= k]
    return math.fsum(values) / len(values) if values else math.nan


def levenshtein(a: str, b: str) -> int:
    """Return the edit distance (insertions, deletions, substitutions of code points)."""
    return Levenshtein.distance(a, b)


def edit_similarity(prediction: str, reference: str) -> float:
    """Return ``1 - distance / max(len)``, in [0, 1]; two empty strings are identical."""
    longest = max(len(prediction), len(reference))
    if longest == 0:
        return 1.0
    return 1.0 - levenshtein(prediction, reference) / longest


def normalize_lines(text: str) -> str:
    """Strip trailing whitespace per line and blank lines at both ends."""
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


def first_line(text: str) -> str:
    """Return the first non-blank line, stripped (the unit of single-line benchmarks)."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def match_scores(prediction: str, reference: str, *, single_line: bool) -> tuple[bool, float]:
    """Return (exact match, edit similarity) after the suite's normalisation.

    Single-line suites compare the first non-blank line, stripped. Other suites
    compare whole texts with trailing whitespace and outer blank lines removed.
    """
    if single_line:
        left, right = first_line(prediction), first_line(reference)
    else:
        left, right = normalize_lines(prediction), normalize_lines(reference)
    return left == right, edit_similarity(left, right)


__all__ = ["edit_similarity", "levenshtein", "match_scores", "mean_pass_at_k", "pass_at_k"]
