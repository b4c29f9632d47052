import math

import pytest

from fim_server.evaluation.ratings import bradley_terry

ELO_PER_DOUBLING = 400 * math.log10(2)


def battles_from_counts(counts):
    """Expand {(first, second): (wins of first, ties, losses of first)} into battle tuples."""
    battles = []
    for (first, second), (wins, ties, losses) in counts.items():
        battles += [(first, second, 1.0)] * wins + [(first, second, 0.5)] * ties + [(first, second, 0.0)] * losses
    return battles


def by_name(ratings):
    return {rating.system: rating for rating in ratings}


def test_recovers_known_strengths_exactly():
    # Strengths 1, 2, 4: every pair's win share equals p_i / (p_i + p_j), so the MLE is exact.
    battles = battles_from_counts({("a", "b"): (100, 0, 200), ("a", "c"): (60, 0, 240), ("b", "c"): (100, 0, 200)})
    ratings = by_name(bradley_terry(["a", "b", "c"], battles, prior=0.0, rounds=0))
    assert ratings["b"].rating - ratings["a"].rating == pytest.approx(ELO_PER_DOUBLING, abs=1e-6)
    assert ratings["c"].rating - ratings["b"].rating == pytest.approx(ELO_PER_DOUBLING, abs=1e-6)
    assert sum(rating.rating for rating in ratings.values()) / 3 == pytest.approx(1000.0)


def test_ties_count_as_half_wins():
    # 10 wins and 20 ties against 10 losses: 20 of 40 points each way, so equal strength.
    battles = battles_from_counts({("a", "b"): (10, 20, 10)})
    ratings = by_name(bradley_terry(["a", "b"], battles, prior=0.0, rounds=0))
    assert ratings["a"].rating == pytest.approx(ratings["b"].rating)
    assert ratings["a"].ties == 20


def test_ties_shift_ratings_like_half_wins():
    with_ties = battles_from_counts({("a", "b"): (10, 20, 0)})  # 20 points of 30 for a
    as_wins = battles_from_counts({("a", "b"): (20, 0, 10)})
    tied = by_name(bradley_terry(["a", "b"], with_ties, prior=0.0, rounds=0))
    won = by_name(bradley_terry(["a", "b"], as_wins, prior=0.0, rounds=0))
    assert tied["a"].rating - tied["b"].rating == pytest.approx(won["a"].rating - won["b"].rating)
    assert tied["a"].rating - tied["b"].rating == pytest.approx(ELO_PER_DOUBLING)


def test_display_order_does_not_matter():
    forward = battles_from_counts({("a", "b"): (30, 5, 10)})
    backward = battles_from_counts({("b", "a"): (10, 5, 30)})
    first = by_name(bradley_terry(["a", "b"], forward, rounds=0))
    second = by_name(bradley_terry(["a", "b"], backward, rounds=0))
    assert first["a"].rating == pytest.approx(second["a"].rating)


def test_prior_keeps_a_system_without_wins_finite():
    battles = battles_from_counts({("a", "b"): (50, 0, 0)})
    ratings = by_name(bradley_terry(["a", "b"], battles, prior=1.0, rounds=0))
    assert math.isfinite(ratings["b"].rating)
    assert ratings["a"].rating > ratings["b"].rating + 400


def test_bootstrap_interval_brackets_the_estimate():
    battles = battles_from_counts({("a", "b"): (40, 10, 50), ("a", "c"): (20, 10, 70), ("b", "c"): (30, 20, 50)})
    ratings = bradley_terry(["a", "b", "c"], battles, rounds=200, seed=3)
    for rating in ratings:
        assert rating.lower <= rating.rating <= rating.upper
        assert rating.upper - rating.lower < 200
    assert [rating.system for rating in ratings] == ["c", "b", "a"]


def test_bootstrap_is_seeded():
    battles = battles_from_counts({("a", "b"): (40, 10, 50)})
    assert bradley_terry(["a", "b"], battles, rounds=50, seed=1) == bradley_terry(["a", "b"], battles, rounds=50, seed=1)


def test_unknown_system_in_battles_is_rejected():
    with pytest.raises(ValueError, match="not listed"):
        bradley_terry(["a"], [("a", "z", 1.0)])
