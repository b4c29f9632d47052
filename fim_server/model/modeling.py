"""Masked-diffusion transformer for fill-in-the-middle, with an exact context cache.

Shapes: B batch, L sequence, H heads, D head dim, E hidden size, V vocabulary.
Segments: every position carries a segment id (suffix, prefix, canvas or slot
padding); the attention mask is derived from segment ids and RoPE positions, so
the same function serves a full forward, a context encoding, an appended prefix
and a canvas step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel

from .configuration import FimDiffusionConfig

SUFFIX, PREFIX, CANVAS, SLOT_PAD = 0, 1, 2, 3


def attention_allowed(
    q_seg: torch.Tensor, q_pos: torch.Tensor, k_seg: torch.Tensor, k_pos: torch.Tensor, layout: str
) -> torch.Tensor:
    """Boolean mask (B, 1, Lq, Lk), True where query may attend to key.

    Slot-padding keys are never visible. Slot-padding queries see every key so
    that no row is fully masked (their outputs are discarded).
    """
    qs, ks = q_seg[:, :, None], k_seg[:, None, :]  # (B, Lq, 1), (B, 1, Lk)
    k_valid = ks != SLOT_PAD
    if layout == "bidirectional":
        allowed = k_valid.expand(-1, q_seg.shape[1], -1)
    else:
        earlier_prefix = (ks == PREFIX) & (k_pos[:, None, :] <= q_pos[:, :, None])
        allowed = torch.where(
            qs == SUFFIX,
            ks == SUFFIX,
            torch.where(qs == PREFIX, (ks == SUFFIX) | earlier_prefix, k_valid),
        )
    allowed = allowed | (qs == SLOT_PAD)
    return allowed[:, None]


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        variance = x.float().pow(2).mean(-1, keepdim=True)
        return (x.float() * torch.rsqrt(variance + self.eps)).to(x.dtype) * self.weight


def rope_tables(positions: torch.Tensor, head_dim: int, theta: float, dtype: torch.dtype):
    """cos and sin tables (B, 1, L, D) for integer positions (B, L)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=positions.device).float() / head_dim))
    angles = positions.float()[..., None] * inv_freq  # (B, L, D/2)
    angles = torch.cat([angles, angles], dim=-1)[:, None]  # (B, 1, L, D)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


@dataclass
class LayerCache:
    key: torch.Tensor  # (B, H, Lc, D), RoPE already applied
    value: torch.Tensor  # (B, H, Lc, D)


@dataclass
class ContextCache:
    """Keys and values of encoded context tokens, with their segments and positions."""

    layers: list[LayerCache]
    segment_ids: torch.Tensor  # (B, Lc)
    position_ids: torch.Tensor  # (B, Lc)

    @property
    def length(self) -> int:
        return self.segment_ids.shape[1]

    def truncate(self, length: int) -> "ContextCache":
        """Keep the first ``length`` context tokens (a backspace over appended prefix)."""
        layers = [LayerCache(c.key[:, :, :length], c.value[:, :, :length]) for c in self.layers]
        return ContextCache(layers, self.segment_ids[:, :length], self.position_ids[:, :length])

    def appended(self, layers: list[LayerCache], segment_ids: torch.Tensor, position_ids: torch.Tensor) -> "ContextCache":
        """Return a new cache with the keys and values of later tokens (B, H, Ln, D) after these."""
        merged = [
            LayerCache(torch.cat([old.key, new.key], dim=2), torch.cat([old.value, new.value], dim=2))
            for old, new in zip(self.layers, layers)
        ]
        return ContextCache(
            merged,
            torch.cat([self.segment_ids, segment_ids], dim=1),
            torch.cat([self.position_ids, position_ids], dim=1),
        )

    def expand(self, batch: int) -> "ContextCache":
        """Repeat a single-sequence cache ``batch`` times (several candidates)."""
        layers = [LayerCache(c.key.expand(batch, -1, -1, -1), c.value.expand(batch, -1, -1, -1)) for c in self.layers]
        return ContextCache(layers, self.segment_ids.expand(batch, -1), self.position_ids.expand(batch, -1))


@dataclass
class CanvasPlan:
    """RoPE tables and attention mask of one canvas, which stay fixed across its denoising steps."""

    cos: torch.Tensor  # (B, 1, C, D)
    sin: torch.Tensor
    mask: torch.Tensor  # (B, 1, C, Lc + C) bool


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Return SDPA attention, computed in float32 for bfloat16 inference on the CPU.

    On the 2-core test CPU the float32 kernel measured faster than the bfloat16 one for canvas-sized queries.
    """
    if q.dtype == torch.bfloat16 and q.device.type == "cpu" and not torch.is_grad_enabled():
        return F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask).to(q.dtype)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


class Attention(nn.Module):
    def __init__(self, config: FimDiffusionConfig) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=False)
        self.out = nn.Linear(config.hidden_size, config.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask, past: LayerCache | None):
        batch, length, _ = x.shape
        q, k, v = self.qkv(x).split(x.shape[-1], dim=-1)
        q = q.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, L, D)
        k = k.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
        v = v.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        new = LayerCache(k, v)
        if past is not None:
            k = torch.cat([past.key, k], dim=2)
            v = torch.cat([past.value, v], dim=2)
        y = _attend(q, k, v, mask)
        y = y.transpose(1, 2).reshape(batch, length, -1)  # (B, L, E)
        return self.out(y), new


class MLP(nn.Module):
    def __init__(self, config: FimDiffusionConfig) -> None:
        super().__init__()
        self.gate_up = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        self.down = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, config: FimDiffusionConfig) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.attn = Attention(config)
        self.mlp_norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x, cos, sin, mask, past):
        attended, new = self.attn(self.attn_norm(x), cos, sin, mask, past)
        x = x + attended
        x = x + self.mlp(self.mlp_norm(x))
        return x, new


class FimDiffusionModel(PreTrainedModel):
    """Transformer denoiser: token + segment embeddings, RoPE, SDPA, tied output head."""

    config_class = FimDiffusionConfig
    base_model_prefix = "fim"
    _no_split_modules = ["Block"]

    def __init__(self, config: FimDiffusionConfig) -> None:
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.segment_embed = nn.Embedding(4, config.hidden_size)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_init()
        # Residual projections start smaller (GPT-2 style) so that the residual
        # stream does not grow with depth at initialisation.
        residual_std = config.initializer_range / math.sqrt(2 * config.num_hidden_layers)
        for block in self.blocks:
            nn.init.normal_(block.attn.out.weight, mean=0.0, std=residual_std)
            nn.init.normal_(block.mlp.down.weight, mean=0.0, std=residual_std)

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, RMSNorm):
            nn.init.ones_(module.weight)

    def _run(self, input_ids, segment_ids, position_ids, past: ContextCache | None, logits: bool,
             plan: CanvasPlan | None = None, output_mask: torch.Tensor | None = None):
        config = self.config
        x = self.embed(input_ids) + self.segment_embed(segment_ids)  # (B, L, E)
        if plan is None:
            plan = self._plan(segment_ids, position_ids, past, x.dtype)
        new_layers = []
        for i, block in enumerate(self.blocks):
            x, new = block(x, plan.cos, plan.sin, plan.mask, None if past is None else past.layers[i])
            new_layers.append(new)
        if not logits:
            return x, new_layers
        if output_mask is not None:
            x = x[output_mask]  # (N, E): only the positions selected for logits
        return F.linear(self.norm(x), self.embed.weight), new_layers  # (B, L, V) or (N, V)

    def _plan(self, segment_ids, position_ids, past: ContextCache | None, dtype: torch.dtype) -> CanvasPlan:
        config = self.config
        cos, sin = rope_tables(position_ids, config.head_dim, config.rope_theta, dtype)
        if past is None:
            k_seg, k_pos = segment_ids, position_ids
        else:
            k_seg = torch.cat([past.segment_ids, segment_ids], dim=1)
            k_pos = torch.cat([past.position_ids, position_ids], dim=1)
        mask = attention_allowed(segment_ids, position_ids, k_seg, k_pos, config.attention_layout)
        return CanvasPlan(cos, sin, mask)

    def forward(self, input_ids, segment_ids, position_ids, output_mask=None) -> torch.Tensor:
        """Logits (B, L, V) of a full, uncached forward over all segments.

        With a boolean ``output_mask`` (B, L), only the selected positions are
        projected to the vocabulary and the result is (N, V); training uses this
        to skip the output head on context tokens.
        """
        logits, _ = self._run(input_ids, segment_ids, position_ids, None, logits=True, output_mask=output_mask)
        return logits

    @torch.no_grad()
    def encode_context(self, input_ids, segment_ids, position_ids, past: ContextCache | None = None) -> ContextCache:
        """Encode suffix/prefix tokens, or append prefix tokens to ``past``.

        Only valid for the ``cached`` layout, in which context tokens never attend
        to the canvas, so the returned keys and values are exact for every step.
        """
        if self.config.attention_layout != "cached":
            raise ValueError("encode_context needs attention_layout='cached'; this model is bidirectional")
        _, new_layers = self._run(input_ids, segment_ids, position_ids, past, logits=False)
        if past is None:
            return ContextCache(new_layers, segment_ids, position_ids)
        return past.appended(new_layers, segment_ids, position_ids)

    def plan_canvas(self, cache: ContextCache, canvas_positions, segments) -> CanvasPlan:
        """Return the RoPE tables and attention mask of a canvas against ``cache``, reusable for every step."""
        return self._plan(segments, canvas_positions, cache, self.embed.weight.dtype)

    @torch.no_grad()
    def score_canvas(self, cache: ContextCache, canvas_ids, canvas_positions, segments=None, *,
                     plan: CanvasPlan | None = None, output_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, C, V) for the canvas against a cached context.

        ``segments`` (B, C) marks unused canvas slots with ``SLOT_PAD`` when rows
        of the batch have different canvas lengths; by default every slot is canvas.
        ``plan`` comes from ``plan_canvas`` with the same positions and segments,
        and saves recomputing it each step. With a boolean ``output_mask`` (B, C)
        only those positions are projected to the vocabulary: the result is
        (N, V) in row-major order.
        """
        if segments is None:
            segments = torch.full_like(canvas_ids, CANVAS)
        logits, _ = self._run(canvas_ids, segments, canvas_positions, cache, logits=True, plan=plan,
                              output_mask=output_mask)
        return logits
