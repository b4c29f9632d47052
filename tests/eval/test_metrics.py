import itertools
import math

import pytest

from fim_server.evaluation.metrics import (
    edit_similarity,
    levenshtein,
    match_scores,
    mean_pass_at_k,
    pass_at_k,
)


def brute_force_pass_at_k(samples: int, correct: int, k: int) -> float:
    """Share of all k-subsets of the samples that contain at least one correct sample."""
    outcomes = [True] * correct + [False] * (samples - correct)
    subsets = list(itertools.combinations(range(samples), k))
    return sum(any(outcomes[i] for i in subset) for subset in subsets) / len(subsets)


@pytest.mark.parametrize("samples", [1, 2, 5, 8])
def test_pass_at_k_matches_subset_enumeration(samples):
    for correct in range(samples + 1):
        for k in range(1, samples + 1):
            assert pass_at_k(samples, correct, k) == pytest.approx(brute_force_pass_at_k(samples, correct, k))


def test_pass_at_1_is_share_correct():
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)


def test_pass_at_k_closed_form():
    expected = 1 - math.comb(200 - 13, 10) / math.comb(200, 10)
    assert pass_at_k(200, 13, 10) == pytest.approx(expected)


def test_pass_at_k_edges():
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 5, 1) == 1.0
    assert pass_at_k(5, 3, 4) == 1.0


@pytest.mark.parametrize("samples, correct, k", [(0, 0, 1), (3, 4, 1), (3, -1, 1), (3, 1, 0), (3, 1, 4)])
def test_pass_at_k_rejects_invalid_counts(samples, correct, k):
    with pytest.raises(ValueError):
        pass_at_k(samples, correct, k)


def test_mean_pass_at_k_skips_small_tasks():
    assert mean_pass_at_k([(1, 1), (1, 0)], 1) == pytest.approx(0.5)
    assert mean_pass_at_k([(4, 1), (1, 1)], 2) == pytest.approx(pass_at_k(4, 1, 2))
    assert math.isnan(mean_pass_at_k([(1, 1)], 2))


def test_levenshtein_known_values():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert levenshtein("flaw", "lawn") == 2
    assert levenshtein("same", "same") == 0


def test_edit_similarity_range():
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("abc", "abc") == 1.0
    assert edit_similarity("abc", "abd") == pytest.approx(2 / 3)
    assert edit_similarity("", "abc") == 0.0


def test_single_line_match_compares_first_lines_stripped():
    exact, similarity = match_scores("  return x + 1  \nprint(x)", "return x + 1\n", single_line=True)
    assert exact
    assert similarity == 1.0


def test_multi_line_match_keeps_inner_indentation():
    reference = "    if x:\n        return 1\n"
    assert match_scores("    if x:\n        return 1   \n\n", reference, single_line=False)[0]
    assert not match_scores("    if x:\n    return 1\n", reference, single_line=False)[0]
