"""Bradley-Terry ratings from battles, with ties as half wins and bootstrap intervals.

Model: P(i beats j) = p_i / (p_i + p_j). With w_ij the wins of i over j (a tie
adds 1/2 to both sides) and n_ij the battles between them, the log-likelihood
sum_ij w_ij log(p_i / (p_i + p_j)) is maximised by the minorize-maximize update

    p_i <- W_i / sum_j n_ij / (p_i + p_j),    W_i = sum_j w_ij

(Hunter 2004, "MM algorithms for generalized Bradley-Terry models"), followed by
rescaling so that the geometric mean of p is 1. Ratings are on the Elo scale:
``1000 + 400 * log10(p_i)``, so a 400-point gap means 10:1 odds.

``prior`` adds that many virtual ties to every pair that met, which keeps a
system that never wins at a finite rating (0 gives the plain maximum likelihood).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ELO_BASE, ELO_SCALE = 1000.0, 400.0


@dataclass(frozen=True, slots=True)
class Rating:
    system: str
    rating: float
    lower: float  # bootstrap percentile interval
    upper: float
    battles: int
    wins: int
    ties: int
    losses: int


def _pair_counts(first: np.ndarray, second: np.ndarray, outcome: np.ndarray, weights: np.ndarray, size: int,
                 prior: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (wins (S, S), battles (S, S)) with ``weights`` copies of each battle."""
    wins = np.zeros((size, size))
    games = np.zeros((size, size))
    np.add.at(wins, (first, second), weights * outcome)
    np.add.at(wins, (second, first), weights * (1.0 - outcome))
    np.add.at(games, (first, second), weights)
    np.add.at(games, (second, first), weights)
    met = games > 0
    wins = wins + np.where(met, prior / 2.0, 0.0)
    games = games + np.where(met, prior, 0.0)
    return wins, games


def fit_strengths(wins: np.ndarray, games: np.ndarray, *, tolerance: float = 1e-10, max_iterations: int = 10_000) -> np.ndarray:
    """Return Bradley-Terry strengths p (S,) with geometric mean 1 by the MM iteration."""
    size = wins.shape[0]
    total_wins = wins.sum(axis=1)  # (S,)
    strengths = np.ones(size)
    for _ in range(max_iterations):
        denominator = (games / (strengths[:, None] + strengths[None, :])).sum(axis=1)  # (S,)
        updated = np.where(denominator > 0, total_wins / np.maximum(denominator, 1e-300), strengths)
        updated = np.maximum(updated, 1e-12)  # a system with no wins would otherwise collapse to 0
        updated /= np.exp(np.log(updated).mean())
        if np.max(np.abs(np.log(updated) - np.log(strengths))) < tolerance:
            return updated
        strengths = updated
    return strengths


def to_elo(strengths: np.ndarray) -> np.ndarray:
    return ELO_BASE + ELO_SCALE * np.log10(strengths)


def bradley_terry(systems: list[str], battles: list[tuple[str, str, float]], *, prior: float = 1.0,
                  rounds: int = 200, seed: int = 0, confidence: float = 0.95) -> list[Rating]:
    """Fit ratings for ``systems`` from (first, second, outcome) battles; sorted best first.

    The interval is the percentile interval of ``rounds`` bootstrap refits, each on
    battles resampled with replacement.
    """
    index = {name: i for i, name in enumerate(systems)}
    unknown = {name for a, b, _ in battles for name in (a, b)} - set(index)
    if unknown:
        raise ValueError(f"battles name systems that are not listed: {sorted(unknown)}")
    first = np.array([index[a] for a, _, _ in battles], dtype=np.int64)
    second = np.array([index[b] for _, b, _ in battles], dtype=np.int64)
    outcome = np.array([o for _, _, o in battles], dtype=float)
    size = len(systems)
    point = to_elo(fit_strengths(*_pair_counts(first, second, outcome, np.ones(len(battles)), size, prior)))
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, size))
    for round_index in range(rounds):
        weights = rng.multinomial(len(battles), np.full(len(battles), 1.0 / len(battles))) if battles else np.zeros(0)
        samples[round_index] = to_elo(fit_strengths(*_pair_counts(first, second, outcome, weights, size, prior)))
    tail = (1.0 - confidence) / 2.0 * 100
    lower, upper = np.percentile(samples, [tail, 100 - tail], axis=0) if rounds else (point, point)
    ratings = []
    for name, i in index.items():
        mine = np.concatenate([outcome[first == i], 1.0 - outcome[second == i]])
        ratings.append(Rating(name, float(point[i]), float(lower[i]), float(upper[i]), int(mine.size),
                              int((mine == 1.0).sum()), int((mine == 0.5).sum()), int((mine == 0.0).sum())))
    return sorted(ratings, key=lambda rating: -rating.rating)


__all__ = ["Rating", "bradley_terry", "fit_strengths", "to_elo"]
