"""Tensor plumbing for batched denoising: padding several requests into one model call.

Each request brings its own context cache (1, H, Lc, D) and K canvas rows of
width C. A batched step stacks every active request's rows into one batch
(R, ...) where contexts are right-padded to the longest context and canvases to
the widest canvas. Padded key slots carry the ``SLOT_PAD`` segment, which
``attention_allowed`` hides from every real query, so each row attends to
exactly the keys it would see alone. Only floating-point reduction order can
differ from an unbatched step.
"""

from __future__ import annotations

import torch

from ..model import CANVAS, PREFIX, SLOT_PAD, SUFFIX, ContextCache
from ..model.modeling import LayerCache
from .sampler import DenoiseState


def new_canvas_state(lengths: list[int], mask_id: int, pad_id: int) -> DenoiseState:
    """Fresh canvases (K, max(lengths)): masks where a row has slots, padding beyond its length."""
    rows, width = len(lengths), max(lengths)
    valid = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]  # (K, C)
    tokens = torch.full((rows, width), mask_id, dtype=torch.long)
    tokens[~valid] = pad_id
    return DenoiseState(tokens, torch.zeros(rows, width), valid)


def encode_contexts(model, contexts: list[tuple[list[int], list[int]]]) -> list[ContextCache]:
    """Encode several (prefix ids, suffix ids) contexts in one forward; return one (1, H, Lc, D) cache each.

    Each row is laid out as ``DiffusionEngine.context_cache`` builds a fresh
    context: one slot-padding token, the suffix, then the prefix. Rows are
    right-padded with ``SLOT_PAD``. Suffix tokens never see prefix tokens and
    prefix tokens see only the suffix and earlier prefix tokens, so one pass
    gives the keys and values that encoding suffix then prefix gives.
    """
    config = model.config
    rows = []
    for prefix_ids, suffix_ids in contexts:
        ids = [config.pad_token_id] + suffix_ids + prefix_ids
        segments = [SLOT_PAD] + [SUFFIX] * len(suffix_ids) + [PREFIX] * len(prefix_ids)
        positions = [0] + [config.suffix_position_offset + j for j in range(len(suffix_ids))]
        rows.append((ids, segments, positions + list(range(len(prefix_ids)))))
    longest = max(len(ids) for ids, _, _ in rows)
    padding = [(longest - len(ids)) for ids, _, _ in rows]
    input_ids = torch.tensor([ids + [config.pad_token_id] * pad for (ids, _, _), pad in zip(rows, padding)])
    segment_ids = torch.tensor([seg + [SLOT_PAD] * pad for (_, seg, _), pad in zip(rows, padding)])
    position_ids = torch.tensor([pos + [0] * pad for (_, _, pos), pad in zip(rows, padding)])
    batch = model.encode_context(input_ids, segment_ids, position_ids)  # (N, H, longest, D) per layer
    caches = []
    for row, (ids, _, _) in enumerate(rows):
        length = len(ids)
        # Copies, so that a cache kept for later keystrokes does not pin the whole batch in memory.
        layers = [LayerCache(layer.key[row : row + 1, :, :length].clone(), layer.value[row : row + 1, :, :length].clone())
                  for layer in batch.layers]
        caches.append(ContextCache(layers, batch.segment_ids[row : row + 1, :length].clone(),
                                   batch.position_ids[row : row + 1, :length].clone()))
    return caches


def pad_context_caches(caches: list[ContextCache], rows: list[int]) -> ContextCache:
    """Stack single-sequence caches, each repeated ``rows[i]`` times, into one (R, H, Lmax, D) cache."""
    longest = max(cache.length for cache in caches)
    layers = []
    for layer in range(len(caches[0].layers)):
        keys, values = [], []
        for cache, count in zip(caches, rows):
            key, value = cache.layers[layer].key, cache.layers[layer].value  # (1, H, Lc, D)
            missing = longest - cache.length
            if missing:
                filler = key.new_zeros(1, key.shape[1], missing, key.shape[3])
                key, value = torch.cat([key, filler], dim=2), torch.cat([value, filler], dim=2)
            keys.append(key.expand(count, -1, -1, -1))
            values.append(value.expand(count, -1, -1, -1))
        layers.append(LayerCache(torch.cat(keys), torch.cat(values)))  # (R, H, Lmax, D)
    segments, positions = [], []
    for cache, count in zip(caches, rows):
        missing = longest - cache.length
        seg = torch.cat([cache.segment_ids, cache.segment_ids.new_full((1, missing), SLOT_PAD)], dim=1)
        pos = torch.cat([cache.position_ids, cache.position_ids.new_zeros(1, missing)], dim=1)
        segments.append(seg.expand(count, -1))
        positions.append(pos.expand(count, -1))
    return ContextCache(layers, torch.cat(segments), torch.cat(positions))  # (R, Lmax) each


def canvas_layout(prefix_lengths: list[int], states: list[DenoiseState], width: int):
    """Build RoPE positions and segments (R, width) for the stacked canvases of several requests.

    A request's canvas continues right after its own prefix; slots beyond a
    row's length, or beyond its request's width, are ``SLOT_PAD``.
    """
    positions, segments = [], []
    for prefix_length, state in zip(prefix_lengths, states):
        rows, own_width = state.tokens.shape
        positions.append((prefix_length + torch.arange(width))[None, :].expand(rows, -1))
        valid = torch.zeros(rows, width, dtype=torch.bool)
        valid[:, :own_width] = state.valid
        segments.append(torch.where(valid, CANVAS, SLOT_PAD))
    return torch.cat(positions), torch.cat(segments)


def stack_canvases(states: list[DenoiseState], width: int, pad_id: int) -> torch.Tensor:
    """Stack the current canvas tokens of every request, right-padded to (R, width)."""
    rows = []
    for state in states:
        tokens = state.tokens
        missing = width - tokens.shape[1]
        if missing:
            tokens = torch.cat([tokens, tokens.new_full((tokens.shape[0], missing), pad_id)], dim=1)
        rows.append(tokens)
    return torch.cat(rows)

