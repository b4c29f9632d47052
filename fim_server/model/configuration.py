"""Configuration of the masked-diffusion fill-in-the-middle transformer."""

from __future__ import annotations

from transformers import PretrainedConfig

ATTENTION_LAYOUTS = ("cached", "bidirectional")


class FimDiffusionConfig(PretrainedConfig):
    """Hyperparameters and token layout of :class:`FimDiffusionModel`.

    One forward pass sees three segments: the suffix, the prefix and the canvas
    (the masked span to fill). Prefix tokens take RoPE positions ``0..P-1`` and the
    canvas continues at ``P``. Suffix tokens are anchored at
    ``suffix_position_offset + j`` so that their positions do not depend on the
    prefix length, which keeps cached keys valid while the user types.

    ``attention_layout``:
      - ``"cached"``: suffix tokens see the suffix, prefix tokens see the suffix and
        earlier prefix tokens, canvas tokens see everything. Context never attends
        to the canvas, so the context key/value cache is exact.
      - ``"bidirectional"``: every token sees every token (the baseline layout,
        which needs a full forward per denoising step).
    """

    model_type = "fim-diffusion"

    def __init__(
        self,
        *,
        vocab_size: int = 8192,
        hidden_size: int = 256,
        num_hidden_layers: int = 6,
        num_attention_heads: int = 4,
        intermediate_size: int = 704,
        rope_theta: float = 10000.0,
        rms_norm_eps: float = 1e-5,
        max_prefix_tokens: int = 192,
        max_suffix_tokens: int = 64,
        max_canvas_tokens: int = 64,
        suffix_position_offset: int = 256,
        attention_layout: str = "cached",
        mask_token_id: int = 0,
        eom_token_id: int = 1,
        pad_token_id: int = 2,
        initializer_range: float = 0.02,
        **kwargs,
    ) -> None:
        if attention_layout not in ATTENTION_LAYOUTS:
            raise ValueError(
                f"invalid attention_layout {attention_layout!r}: expected one of {ATTENTION_LAYOUTS}"
            )
        if hidden_size % num_attention_heads:
            raise ValueError(
                f"hidden_size {hidden_size} is not divisible by num_attention_heads {num_attention_heads}"
            )
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.rope_theta = rope_theta
        self.rms_norm_eps = rms_norm_eps
        self.max_prefix_tokens = max_prefix_tokens
        self.max_suffix_tokens = max_suffix_tokens
        self.max_canvas_tokens = max_canvas_tokens
        self.suffix_position_offset = suffix_position_offset
        self.attention_layout = attention_layout
        self.mask_token_id = mask_token_id
        self.eom_token_id = eom_token_id
        self.initializer_range = initializer_range
        super().__init__(pad_token_id=pad_token_id, **kwargs)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads
