"""Autoregressive FIM baseline: the same transformer blocks as the diffusion model, causal, PSM layout.

Token layout (prefix-suffix-middle, PSM), one sequence per example::

    prefix tokens | suffix tokens | <middle sentinel> | middle tokens | <|eom|>
    segment PREFIX  segment SUFFIX  segment CANVAS ...................

The tokenizer is shared with the diffusion model, so no new ids are added and
ids 0-2 keep their meaning. Segment embeddings mark where the prefix ends and the
suffix starts, in place of PSM's ``<PRE>`` and ``<SUF>`` sentinel tokens. The
``<|mask|>`` id (0), which this model never generates, is the ``<MID>`` sentinel
whose output predicts the first middle token. ``<|eom|>`` (1) ends the middle.
RoPE positions run 0..n-1 over the whole sequence and attention is causal in
position order.

Shapes: B batch, L new tokens, Lc cached tokens, V vocabulary.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

from .modeling import SLOT_PAD, Block, ContextCache, RMSNorm, rope_tables


# Field defaults. The size fields and token budgets match FimDiffusionConfig, so
# both models train on identical FIM examples.
CONFIG_DEFAULTS = {
    "vocab_size": 8192,
    "hidden_size": 256,
    "num_hidden_layers": 6,
    "num_attention_heads": 4,
    "intermediate_size": 704,
    "rope_theta": 10000.0,
    "rms_norm_eps": 1e-5,
    "max_prefix_tokens": 192,
    "max_suffix_tokens": 64,
    "max_canvas_tokens": 64,  # the middle including its end-of-middle token
    "middle_token_id": 0,  # the <MID> sentinel: <|mask|> in the shared tokenizer
    "eom_token_id": 1,
    "initializer_range": 0.02,
}


class FimAutoregressiveConfig(PretrainedConfig):
    """Hyperparameters of :class:`FimAutoregressiveModel`, with the fields and defaults of ``CONFIG_DEFAULTS``."""

    model_type = "fim-autoregressive"

    def __init__(self, *, pad_token_id: int = 2, **kwargs) -> None:
        for name, default in CONFIG_DEFAULTS.items():
            setattr(self, name, kwargs.pop(name, default))
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not divisible by num_attention_heads {self.num_attention_heads}"
            )
        super().__init__(pad_token_id=pad_token_id, **kwargs)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


def causal_allowed(q_seg: torch.Tensor, q_pos: torch.Tensor, k_seg: torch.Tensor, k_pos: torch.Tensor) -> torch.Tensor:
    """Boolean mask (B, 1, Lq, Lk), True where a query may attend to a key at the same or an earlier position.

    Padding keys are never visible. Padding queries see every key so that no row
    is fully masked (their outputs are discarded).
    """
    allowed = (k_pos[:, None, :] <= q_pos[:, :, None]) & (k_seg[:, None, :] != SLOT_PAD)  # (B, Lq, Lk)
    allowed = allowed | (q_seg[:, :, None] == SLOT_PAD)
    return allowed[:, None]


class FimAutoregressiveModel(PreTrainedModel):
    """Causal transformer: token + segment embeddings, RoPE, SDPA, tied output head, key/value cache."""

    config_class = FimAutoregressiveConfig
    base_model_prefix = "fim"
    _no_split_modules = ["Block"]

    def __init__(self, config: FimAutoregressiveConfig) -> None:
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.segment_embed = nn.Embedding(4, config.hidden_size)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_init()
        # The same scaled residual initialisation as FimDiffusionModel, so that matched runs start alike.
        residual_std = config.initializer_range / math.sqrt(2 * config.num_hidden_layers)
        for block in self.blocks:
            nn.init.normal_(block.attn.out.weight, mean=0.0, std=residual_std)
            nn.init.normal_(block.mlp.down.weight, mean=0.0, std=residual_std)

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, RMSNorm):
            nn.init.ones_(module.weight)

    def _run(self, input_ids, segment_ids, position_ids, past: ContextCache | None):
        """Return hidden states (B, L, E) and the keys/values of the new tokens per layer."""
        config = self.config
        x = self.embed(input_ids) + self.segment_embed(segment_ids)  # (B, L, E)
        cos, sin = rope_tables(position_ids, config.head_dim, config.rope_theta, x.dtype)
        # Segments and positions of every key: the cached tokens, then the new ones.
        keys = ContextCache([], segment_ids, position_ids) if past is None else past.appended([], segment_ids, position_ids)
        mask = causal_allowed(segment_ids, position_ids, keys.segment_ids, keys.position_ids)
        past_layers = [None] * len(self.blocks) if past is None else past.layers
        new_layers = []
        for block, layer_past in zip(self.blocks, past_layers):
            x, new = block(x, cos, sin, mask, layer_past)
            new_layers.append(new)
        return x, new_layers

    def forward(self, input_ids, segment_ids, position_ids, output_mask=None) -> torch.Tensor:
        """Next-token logits (B, L, V) of an uncached forward, or (N, V) at the ``output_mask`` positions."""
        hidden, _ = self._run(input_ids, segment_ids, position_ids, None)
        if output_mask is not None:
            hidden = hidden[output_mask]  # (N, E)
        return F.linear(self.norm(hidden), self.embed.weight)

    @torch.no_grad()
    def extend(self, input_ids, segment_ids, position_ids, past: ContextCache | None = None, *, logits: bool = True):
        """Append tokens to ``past`` (prefill or one decoding step).

        Returns (logits (B, V) for the token after the last new one, or None when
        ``logits`` is false, and the grown cache). ``past`` itself is not modified,
        so a caller may keep it and extend it again.
        """
        hidden, new_layers = self._run(input_ids, segment_ids, position_ids, past)
        if past is None:
            cache = ContextCache(new_layers, segment_ids, position_ids)
        else:
            cache = past.appended(new_layers, segment_ids, position_ids)
        if not logits:
            return None, cache
        return F.linear(self.norm(hidden[:, -1]), self.embed.weight), cache


__all__ = ["FimAutoregressiveConfig", "FimAutoregressiveModel", "causal_allowed"]
