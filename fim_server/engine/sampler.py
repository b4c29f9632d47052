"""Confidence-threshold denoising over a canvas of mask tokens.

The loop is split into small steps that can be timed and tested alone:
``score`` (one model call on the canvas), ``masked_probabilities`` (token
probabilities of the masked slots), ``choose_commits`` (which masked positions
to fill this step), ``apply_end_of_middle`` (masks right of a committed
end-of-middle token become padding) and ``remask_low_confidence`` (the optional
revision pass).

``DenoiseSchedule`` (which pass and step comes next) and ``denoise_step`` (one
step's commits from its logits) make up the whole sampling rule. ``denoise``
runs them for one request. ``BatchedEngine`` runs them for each request of a
batch after one shared model call, so both paths apply the same rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .types import EFFORTS, EffortProfile, FillCancelled  # re-exported for existing imports

NEG_INF = float("-inf")


@dataclass(slots=True)
class DenoiseState:
    tokens: torch.Tensor  # (K, C) long; mask id where not yet decided
    confidence: torch.Tensor  # (K, C) float; probability of each committed token
    valid: torch.Tensor  # (K, C) bool; False on canvas slots beyond a row's length
    steps: int = 0
    tokens_per_step: list[int] = field(default_factory=list)
    budget_hit: bool = False  # the time budget made a step final before the step cap


def suppress_special(logits: torch.Tensor, banned_ids: list[int]) -> torch.Tensor:
    logits[..., banned_ids] = NEG_INF
    return logits


def masked_slots(state: DenoiseState, mask_id: int) -> torch.Tensor:
    """Return the (K, C) bool mask of canvas slots still masked, the only slots a step needs logits for."""
    return (state.tokens == mask_id) & state.valid


def masked_probabilities(logits: torch.Tensor, masked: torch.Tensor, *, eom_id: int, banned_ids: list[int]) -> torch.Tensor:
    """Return token probabilities (N, V) of the N masked slots from their logits (N, V), row-major.

    Banned special tokens get zero probability. End-of-middle cannot open the
    canvas, because an empty completion is never useful.
    """
    logits = suppress_special(logits.float(), banned_ids)
    logits[masked.nonzero()[:, 1] == 0, eom_id] = NEG_INF
    return torch.softmax(logits, dim=-1)


def choose_commits(confidence: torch.Tensor, masked: torch.Tensor, threshold: float, final: bool,
                   window: int | torch.Tensor | None = None) -> torch.Tensor:
    """Return the commit mask (K, C) from each slot's best probability (K, C).

    Only ``masked`` slots are committed: those whose confidence reaches
    ``threshold``, at least the most confident one per row, and on the ``final``
    step all of them. With a ``window`` (a number, or one per row as a (K,)
    tensor), only the leftmost ``window`` masked slots of each row may be
    committed before the final step. The canvas then fills from left to right in
    blocks, each one predicted with the committed tokens to its left in view.
    """
    if final:
        return masked.clone()
    if window is not None:
        limit = window[:, None] if isinstance(window, torch.Tensor) else window
        masked = masked & (masked.cumsum(dim=-1) <= limit)
    commit = masked & (confidence >= threshold)
    # At least one token per row that still has masks: the most confident one.
    masked_conf = torch.where(masked, confidence, torch.full_like(confidence, -1.0))
    best = masked_conf.argmax(dim=-1, keepdim=True)  # (K, 1)
    has_mask = masked.any(dim=-1, keepdim=True)
    forced = torch.zeros_like(commit).scatter_(1, best, True) & has_mask
    return commit | forced


def apply_end_of_middle(state: DenoiseState, mask_id: int, eom_id: int) -> None:
    """Turn every mask right of the first committed end-of-middle token into padding."""
    is_eom = state.tokens == eom_id
    after_eom = (is_eom.cumsum(dim=-1) > 0) & ~is_eom
    fill = after_eom & (state.tokens == mask_id)
    state.tokens[fill] = eom_id
    state.confidence[fill] = 1.0


def remask_low_confidence(state: DenoiseState, mask_id: int, fraction: float = 0.2) -> None:
    """Re-mask the least confident committed tokens of each row (the revision pass)."""
    for row in range(state.tokens.shape[0]):
        positions = state.valid[row].nonzero().flatten()
        if positions.numel() < 2:
            continue
        count = max(1, int(positions.numel() * fraction))
        worst = state.confidence[row, positions].argsort()[:count]
        state.tokens[row, positions[worst]] = mask_id


@dataclass(slots=True)
class DenoiseSchedule:
    """Position of one request in its denoising passes: the pass index and the step within it."""

    profile: EffortProfile
    pass_index: int = 0
    step: int = 0
    wrap_up: bool = False  # the time budget is spent, so the next step is the last one

    @property
    def final(self) -> bool:
        """Whether this is the pass's last step, which commits every token still masked."""
        return self.wrap_up or self.step == self.profile.max_steps - 1

    def watch_time(self, elapsed_ms: float, last_step_ms: float) -> None:
        """Make the next step the last one when it would end past the profile's time budget.

        ``elapsed_ms`` is the time spent denoising so far and ``last_step_ms`` the
        duration of the last model call, the estimate for the next one. The
        completion then comes back within about one step of the budget, with
        the tokens it has, instead of missing the editor's wait.
        """
        budget = self.profile.budget_ms
        if budget is not None and elapsed_ms + last_step_ms >= budget:
            self.wrap_up = True

    def advance(self, state: DenoiseState, mask_id: int) -> bool:
        """Move to the next model call, or return False when ``state`` is done.

        A pass ends when no mask is left or after ``profile.max_steps`` steps.
        With ``profile.revision`` a second pass follows, which first re-masks the
        least confident tokens.
        """
        passes = 2 if self.profile.revision else 1
        while True:
            if self.step < self.profile.max_steps and ((state.tokens == mask_id) & state.valid).any():
                state.budget_hit = state.budget_hit or self.wrap_up
                return True
            self.pass_index += 1
            if self.pass_index >= passes:
                return False
            if self.wrap_up:  # no time left for the revision pass
                state.budget_hit = True
                return False
            remask_low_confidence(state, mask_id)
            self.step = 0


def block_window(masked: torch.Tensor, schedule: DenoiseSchedule) -> torch.Tensor | None:
    """Return each row's commit window (K,) for this step, or None when the profile has none.

    The window is the profile's ``window``, widened where the masks left in a
    row would not fit into the steps left in the pass. A long canvas thus fills
    in equal left-to-right blocks instead of leaving its tail to the final step.
    """
    if schedule.profile.window is None:
        return None
    steps_left = schedule.profile.max_steps - schedule.step
    needed = (masked.sum(dim=-1) + steps_left - 1) // steps_left
    return needed.clamp_min(schedule.profile.window)


def denoise_step(state: DenoiseState, logits: torch.Tensor, schedule: DenoiseSchedule, *, mask_id: int,
                 eom_id: int, banned_ids: list[int]) -> None:
    """Commit tokens of ``state`` from one model call's logits and count the step.

    ``logits`` is (K, C, V) for every slot, or (N, V) for the N slots that
    ``masked_slots`` selects, in row-major order. Every masked token whose
    probability reaches the profile's threshold is committed, with at least one
    per row and all of them on the final step; a profile ``window`` limits the
    choice to the leftmost masked slots (see ``block_window``). Masks right of a committed
    end-of-middle token then become padding.
    """
    masked = masked_slots(state, mask_id)
    if logits.dim() == 3:
        logits = logits[masked]
    probs = masked_probabilities(logits, masked, eom_id=eom_id, banned_ids=banned_ids)  # (N, V)
    confidence = torch.zeros(state.tokens.shape)
    predicted = torch.full_like(state.tokens, mask_id)
    if probs.shape[0]:
        best, token = probs.max(dim=-1)
        confidence[masked], predicted[masked] = best, token
    commit = choose_commits(confidence, masked, schedule.profile.threshold, schedule.final,
                            block_window(masked, schedule))
    state.tokens[commit] = predicted[commit]
    state.confidence[commit] = confidence[commit]
    apply_end_of_middle(state, mask_id, eom_id)
    state.steps += 1
    state.tokens_per_step.append(int(commit.sum()))
    schedule.step += 1


def denoise(
    score: Callable[[torch.Tensor], torch.Tensor],
    state: DenoiseState,
    profile: EffortProfile,
    *,
    mask_id: int,
    eom_id: int,
    banned_ids: list[int],
    should_stop: Callable[[], bool] | None = None,
) -> DenoiseState:
    """Fill every mask of ``state`` in at most ``profile.max_steps`` model calls (per pass).

    ``score`` maps canvas tokens (K, C) to logits (K, C, V), or to logits
    (N, V) of the slots that ``masked_slots`` selects. Raises
    ``FillCancelled`` when ``should_stop()`` turns true before a step. With
    a ``profile.budget_ms``, the step that would end past it commits every
    slot still masked (see ``DenoiseSchedule.watch_time``).
    """
    schedule = DenoiseSchedule(profile)
    started = time.perf_counter()
    last_step_ms = 0.0
    while True:
        if should_stop is not None and should_stop():
            raise FillCancelled()
        step_started = time.perf_counter()
        if state.steps:
            schedule.watch_time((step_started - started) * 1000, last_step_ms)
        if not schedule.advance(state, mask_id):
            return state
        denoise_step(state, score(state.tokens), schedule, mask_id=mask_id, eom_id=eom_id, banned_ids=banned_ids)
        last_step_ms = (time.perf_counter() - step_started) * 1000
