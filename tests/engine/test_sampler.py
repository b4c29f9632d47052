"""Denoising loop steps, driven by a scripted score function."""

import time

import pytest
import torch

from fim_server.engine.sampler import (
    EFFORTS,
    DenoiseSchedule,
    DenoiseState,
    FillCancelled,
    apply_end_of_middle,
    block_window,
    choose_commits,
    denoise,
    denoise_step,
    masked_probabilities,
    masked_slots,
)
from fim_server.engine.types import EffortProfile

MASK, EOM, PAD = 0, 1, 2
VOCAB = 10


def fresh_state(rows: int, width: int) -> DenoiseState:
    return DenoiseState(torch.full((rows, width), MASK), torch.zeros(rows, width), torch.ones(rows, width, dtype=torch.bool))


def peaked_logits(targets: list[int], sharpness: list[float]) -> torch.Tensor:
    """Logits (1, C, V) whose argmax is targets[i] with softmax confidence rising with sharpness[i]."""
    logits = torch.zeros(1, len(targets), VOCAB)
    for i, (token, sharp) in enumerate(zip(targets, sharpness)):
        logits[0, i, token] = sharp
    return logits


def best_tokens(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each slot's top probability and token (K, C) from logits (K, C, V)."""
    return torch.softmax(logits, dim=-1).max(dim=-1)


def test_commits_confident_tokens_and_at_least_one():
    state = fresh_state(1, 3)
    masked = masked_slots(state, MASK)
    confidence, predicted = best_tokens(peaked_logits([5, 6, 7], [10.0, 1.0, 2.0]))
    commit = choose_commits(confidence, masked, threshold=0.9, final=False)
    assert commit.tolist() == [[True, False, False]]
    assert predicted[0, 0].item() == 5
    confidence, _ = best_tokens(peaked_logits([5, 6, 7], [1.0, 1.0, 2.0]))
    commit = choose_commits(confidence, masked, threshold=0.9, final=False)
    assert commit.tolist() == [[False, False, True]], "the most confident token is forced"


def test_window_limits_commits_to_the_leftmost_masked_slots():
    state = fresh_state(1, 5)
    state.tokens[0, 0] = 7  # committed already: the window counts masked slots only
    masked = masked_slots(state, MASK)
    confidence = torch.tensor([[0.0, 0.2, 0.95, 0.99, 0.99]])
    commit = choose_commits(confidence, masked, threshold=0.9, final=False, window=2)
    assert commit.tolist() == [[False, False, True, False, False]]
    confidence = torch.tensor([[0.0, 0.3, 0.2, 0.99, 0.99]])
    commit = choose_commits(confidence, masked, threshold=0.9, final=False, window=2)
    assert commit.tolist() == [[False, True, False, False, False]], "the forced token comes from inside the window"
    commit = choose_commits(confidence, masked, threshold=0.9, final=True, window=2)
    assert commit.tolist() == [[False, True, True, True, True]], "the final step still commits every mask"


def test_windowed_denoise_fills_left_to_right():
    state = fresh_state(1, 4)
    profile = EffortProfile(name="test", threshold=0.0, max_steps=8, candidates=1, revision=False, window=1)
    order = []

    def score(tokens):
        order.append(int((tokens[0] == MASK).nonzero()[0]))
        return peaked_logits([5, 6, 7, 8], [1.0, 1.0, 1.0, 9.0])

    denoise(score, state, profile, mask_id=MASK, eom_id=EOM, banned_ids=[MASK, PAD])
    assert order == [0, 1, 2, 3], "the most confident slot (3) waits for its turn"
    assert state.tokens.tolist() == [[5, 6, 7, 8]]
    assert state.tokens_per_step == [1, 1, 1, 1]


def test_block_window_widens_to_fit_steps():
    profile = EffortProfile(name="test", threshold=0.9, max_steps=4, candidates=1, revision=False, window=2)
    schedule = DenoiseSchedule(profile)
    masked = torch.ones(2, 16, dtype=torch.bool)
    masked[1, 6:] = False
    assert block_window(masked, schedule).tolist() == [4, 2]
    schedule.step = 3
    assert block_window(masked, schedule).tolist() == [16, 6]
    no_window = DenoiseSchedule(EffortProfile(name="plain", threshold=0.9, max_steps=4, candidates=1, revision=False))
    assert block_window(masked, no_window) is None


def test_final_step_commits_everything_masked():
    state = fresh_state(1, 4)
    state.tokens[0, 1] = 7
    confidence, _ = best_tokens(torch.zeros(1, 4, VOCAB))
    commit = choose_commits(confidence, masked_slots(state, MASK), threshold=0.99, final=True)
    assert commit.tolist() == [[True, False, True, True]]


def test_probabilities_of_masked_slots_only():
    state = fresh_state(2, 3)
    state.tokens[0, 1] = 7
    state.valid[1, 2] = False
    masked = masked_slots(state, MASK)
    assert masked.tolist() == [[True, False, True], [True, True, False]]
    logits = torch.zeros(int(masked.sum()), VOCAB)
    logits[:, EOM] = 5.0
    probs = masked_probabilities(logits, masked, eom_id=EOM, banned_ids=[MASK, PAD])
    assert probs.shape == (4, VOCAB)
    assert probs[:, [MASK, PAD]].eq(0).all()
    # Rows 0 and 2 of the probabilities are the first slot of each canvas, which end-of-middle cannot open.
    assert probs[0, EOM] == 0
    assert probs[2, EOM] == 0
    assert probs[1, EOM] > 0.9
    assert probs[3, EOM] > 0.9
    torch.testing.assert_close(probs.sum(dim=-1), torch.ones(4))


def test_step_accepts_compact_logits():
    """The compact (N, V) logits and the full (K, C, V) logits commit the same tokens."""
    logits = peaked_logits([5, 6, 7, 8], [9.0, 0.5, 9.0, 0.5])
    results = []
    for compact in (False, True):
        state = fresh_state(1, 4)
        state.tokens[0, 2] = 4
        step_logits = logits[masked_slots(state, MASK)] if compact else logits.clone()
        denoise_step(state, step_logits, DenoiseSchedule(EFFORTS["low"]), mask_id=MASK, eom_id=EOM, banned_ids=[MASK, PAD])
        results.append((state.tokens.tolist(), state.confidence.tolist()))
    assert results[0] == results[1]
    assert results[1][0] == [[5, MASK, 4, MASK]]


def test_end_of_middle_pads_masks_to_its_right():
    state = fresh_state(1, 5)
    state.tokens[0] = torch.tensor([4, EOM, MASK, 6, MASK])
    apply_end_of_middle(state, MASK, EOM)
    assert state.tokens[0].tolist() == [4, EOM, EOM, 6, EOM]


def test_denoise_fills_every_mask_within_step_cap():
    targets = [3, 4, 5, 6, EOM, EOM]
    calls = []

    def score(tokens):
        calls.append(tokens.clone())
        return peaked_logits(targets, [0.5] * len(targets))  # never confident: one token per step

    state = denoise(score, fresh_state(1, 6), EFFORTS["instant"], mask_id=MASK, eom_id=EOM, banned_ids=[MASK, PAD])
    assert (state.tokens != MASK).all()
    assert state.steps == len(calls) <= EFFORTS["instant"].max_steps
    assert sum(state.tokens_per_step) == 6


def test_denoise_never_emits_banned_tokens():
    def score(tokens):
        logits = torch.zeros(tokens.shape[0], tokens.shape[1], VOCAB)
        logits[..., MASK] = 100.0
        logits[..., PAD] = 90.0
        logits[..., 8] = 1.0
        return logits

    state = denoise(score, fresh_state(2, 4), EFFORTS["low"], mask_id=MASK, eom_id=EOM, banned_ids=[MASK, PAD])
    assert (state.tokens == 8).all()


def test_denoise_stops_when_asked():
    def score(tokens):
        return peaked_logits([3] * tokens.shape[1], [0.1] * tokens.shape[1])

    checks = iter([False, True])
    with pytest.raises(FillCancelled):
        denoise(score, fresh_state(1, 8), EFFORTS["low"], mask_id=MASK, eom_id=EOM, banned_ids=[MASK],
                should_stop=lambda: next(checks))


def test_revision_pass_remasks_and_refills():
    seen_masks = []

    def score(tokens):
        seen_masks.append(int((tokens == MASK).sum()))
        return peaked_logits([3, 4, 5, 6, 7], [9.0, 9.0, 9.0, 9.0, 0.5])

    state = denoise(score, fresh_state(1, 5), EFFORTS["high"], mask_id=MASK, eom_id=EOM, banned_ids=[MASK])
    assert (state.tokens != MASK).all()
    assert seen_masks[0] == 5
    assert 0 < seen_masks[-1] < 5, "the revision pass re-masked some committed tokens"


def test_end_of_middle_cannot_open_the_canvas():
    def score(tokens):
        logits = torch.zeros(tokens.shape[0], tokens.shape[1], VOCAB)
        logits[..., EOM] = 50.0
        logits[..., 4] = 1.0
        return logits

    state = denoise(score, fresh_state(1, 4), EFFORTS["low"], mask_id=MASK, eom_id=EOM, banned_ids=[MASK, PAD])
    assert state.tokens[0].tolist() == [4, EOM, EOM, EOM]


def slow_score(delay_s: float, width: int):
    """A score function that takes ``delay_s`` per call and is never confident, so each step commits one token."""
    calls = []

    def score(tokens):
        calls.append(int((tokens == MASK).sum()))
        time.sleep(delay_s)
        return peaked_logits([3 + i % 6 for i in range(width)], [0.1] * width)

    return score, calls


def test_budget_makes_next_step_final():
    profile = EffortProfile(name="budget", threshold=0.99, max_steps=12, candidates=1, revision=True,
                            window=1, budget_ms=25.0)
    score, calls = slow_score(0.02, 8)
    state = denoise(score, fresh_state(1, 8), profile, mask_id=MASK, eom_id=EOM, banned_ids=[MASK])
    assert (state.tokens != MASK).all(), "the final step committed every slot"
    assert state.budget_hit
    # Step 1 ends at about 20 ms; 20 + 20 passes 25, so step 2 is the last, and no revision pass runs.
    assert len(calls) == 2
    assert state.tokens_per_step == [1, 7]


def test_no_budget_runs_full_schedule():
    profile = EffortProfile(name="no-budget", threshold=0.99, max_steps=12, candidates=1, revision=True, window=1)
    score, calls = slow_score(0.0, 8)
    state = denoise(score, fresh_state(1, 8), profile, mask_id=MASK, eom_id=EOM, banned_ids=[MASK])
    assert not state.budget_hit
    assert state.tokens_per_step[:8] == [1] * 8
    assert len(calls) > 8, "a revision pass followed the first"


def test_spent_budget_skips_revision():
    schedule = DenoiseSchedule(EffortProfile(name="r", threshold=0.5, max_steps=4, candidates=1, revision=True,
                                             budget_ms=10.0))
    state = fresh_state(1, 3)
    state.tokens[:] = 5  # the first pass committed everything
    schedule.watch_time(elapsed_ms=9.0, last_step_ms=2.0)
    assert not schedule.advance(state, MASK)
    assert state.budget_hit
    assert (state.tokens == 5).all(), "nothing was re-masked"
