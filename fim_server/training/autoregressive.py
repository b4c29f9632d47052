"""Batches and loss of the autoregressive FIM baseline, built from the same examples as diffusion training.

Each example becomes one causal sequence in the PSM layout of
``fim_server.model.autoregressive``. Next-token targets are trained inside every
segment (prefix, suffix and middle), as in standard FIM training of
autoregressive models. The two targets that cross a segment boundary (last
prefix token to first suffix token, last context token to the middle sentinel)
carry no information and get no loss.
"""

from __future__ import annotations

import random

import torch

from ..model import CANVAS, PREFIX, SLOT_PAD, SUFFIX, FimAutoregressiveConfig
from .examples import Batch, FimExample


def psm_sequence(example: FimExample, config: FimAutoregressiveConfig) -> tuple[list[int], list[int]]:
    """Return (token ids, segment ids) of one example: prefix, suffix, middle sentinel, middle, end."""
    middle = [config.middle_token_id, *example.middle]
    if example.kind != "unconditional":  # an unconditional middle is a cut window, not a finished span
        middle.append(config.eom_token_id)
    ids = example.prefix + example.suffix + middle
    segments = [PREFIX] * len(example.prefix) + [SUFFIX] * len(example.suffix) + [CANVAS] * len(middle)
    return ids, segments


def collate_autoregressive(
    examples: list[FimExample], config: FimAutoregressiveConfig, rng: random.Random | None = None
) -> Batch:
    """Right-pad PSM sequences to the longest one in the batch; ``rng`` is unused (no noising).

    ``targets[i]`` is the token at ``i + 1`` and ``weights[i]`` is 1.0 where that
    target is trained, so the loss is a plain mean over weighted positions.
    """
    sequences = [psm_sequence(example, config) for example in examples]
    length = max(len(ids) for ids, _ in sequences)

    def padded(values: list, fill) -> list:
        return values + [fill] * (length - len(values))

    pad = config.pad_token_id
    return Batch(
        input_ids=torch.tensor([padded(ids, pad) for ids, _ in sequences]),
        segment_ids=torch.tensor([padded(segments, SLOT_PAD) for _, segments in sequences]),
        position_ids=torch.tensor([padded(list(range(len(ids))), 0) for ids, _ in sequences]),
        targets=torch.tensor([padded(ids[1:], pad) for ids, _ in sequences]),
        weights=torch.tensor([padded([float(a == b) for a, b in zip(segments, segments[1:])], 0.0)
                              for _, segments in sequences]),
    )


def autoregressive_loss(model, batch: Batch, *, middle_only: bool = False) -> torch.Tensor:
    """Mean next-token cross-entropy over trained targets.

    With ``middle_only``, only targets predicted from the middle segment count
    (the middle tokens and its end-of-middle token): the FIM part of the loss,
    which held-out evaluation reports.
    """
    selected = batch.weights > 0
    if middle_only:
        selected = selected & (batch.segment_ids == CANVAS)
    logits = model(batch.input_ids, batch.segment_ids, batch.position_ids, output_mask=selected)  # (N, V)
    return torch.nn.functional.cross_entropy(logits.float(), batch.targets[selected])


def middle_loss(model, batch: Batch) -> torch.Tensor:
    """Held-out metric of the autoregressive objective: mean NLL per middle token, in nats."""
    return autoregressive_loss(model, batch, middle_only=True)


__all__ = ["autoregressive_loss", "collate_autoregressive", "middle_loss", "psm_sequence"]
