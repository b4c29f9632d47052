"""Special tokens and length limits of a Hugging Face masked language model folder.

``hf_masked`` reads these once at load time. Every error names the manifest
field or the tokenizer setting to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .manifest import MANIFEST_NAME, Manifest

DEFAULT_PREFIX_TOKENS = 512
DEFAULT_SUFFIX_TOKENS = 256
DEFAULT_CANVAS_TOKENS = 128
_SPECIALS_PROBE = "x = 1"  # any short text that the tokenizer encodes to at least one token


@dataclass(frozen=True, slots=True)
class SpecialTokens:
    """Token ids the engine places, merges, suppresses or strips."""

    mask_id: int
    end_ids: tuple[int, ...]  # the first one stands for all of them in the canvas
    leading: tuple[int, ...]  # what the tokenizer puts before a text, such as CLS or BOS
    trailing: tuple[int, ...]  # what it puts after a text, such as SEP or EOS
    filler_id: int  # input id under attention-masked slots: PAD when the tokenizer has one
    special_ids: frozenset[int]  # never part of a completion
    banned_ids: tuple[int, ...]  # suppressed at sampling: special and out-of-tokenizer ids but end_ids[0]

    @property
    def end_id(self) -> int:
        return self.end_ids[0]


@dataclass(frozen=True, slots=True)
class Limits:
    """Token budgets for one fill; their sum plus the special tokens fits the model's positions."""

    max_prefix_tokens: int
    max_suffix_tokens: int
    max_canvas_tokens: int


def _token_id(tokenizer, token: str, field: str, folder: Path) -> int:
    token_id = tokenizer.get_vocab().get(token)
    if token_id is None:
        raise ValueError(
            f"invalid {field} {token!r} in {folder / MANIFEST_NAME}: the tokenizer has no such token; "
            "use a token from tokenizer.json, or remove the field to use the tokenizer's default"
        )
    return token_id


def _specials_around_text(tokenizer) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return the ids the tokenizer adds before and after a text, found by encoding a probe both ways."""
    plain = tokenizer.encode(_SPECIALS_PROBE, add_special_tokens=False)
    full = tokenizer.encode(_SPECIALS_PROBE, add_special_tokens=True)
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return tuple(full[:start]), tuple(full[start + len(plain) :])
    raise ValueError(
        f"cannot place the special tokens: the tokenizer encodes {_SPECIALS_PROBE!r} as {plain} "
        f"without them and as {full} with them"
    )


def _default_end_ids(tokenizer, mask_id: int, folder: Path) -> tuple[int, ...]:
    candidates = (tokenizer.eos_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    end_ids = tuple(dict.fromkeys(i for i in candidates if i is not None and i != mask_id))
    if not end_ids:
        raise ValueError(
            f"the tokenizer in {folder} has no EOS, SEP or PAD token to end the middle; "
            f"set \"end_tokens\" in {folder / MANIFEST_NAME}"
        )
    return end_ids


def resolve_special_tokens(tokenizer, manifest: Manifest, vocab_size: int, folder: Path) -> SpecialTokens:
    """Find the mask, end and framing tokens of ``tokenizer`` for a model with ``vocab_size`` logits."""
    if manifest.mask_token is not None:
        mask_id = _token_id(tokenizer, manifest.mask_token, "mask_token", folder)
    elif tokenizer.mask_token_id is not None:
        mask_id = tokenizer.mask_token_id
    else:
        raise ValueError(
            f"the tokenizer in {folder} has no mask token; set \"mask_token\" in {folder / MANIFEST_NAME}"
        )
    if manifest.end_tokens is not None:
        end_ids = tuple(dict.fromkeys(_token_id(tokenizer, t, "end_tokens", folder) for t in manifest.end_tokens))
        if mask_id in end_ids:
            raise ValueError(
                f"invalid end_tokens {list(manifest.end_tokens)!r} in {folder / MANIFEST_NAME}: "
                "the mask token cannot end the middle; remove it from the list"
            )
    else:
        end_ids = _default_end_ids(tokenizer, mask_id, folder)
    leading, trailing = _specials_around_text(tokenizer)
    special_ids = set(tokenizer.all_special_ids) | {mask_id, *end_ids, *leading, *trailing}
    special_ids |= {i for i, token in tokenizer.added_tokens_decoder.items() if token.special}
    # Logit rows past the tokenizer (embedding tables are often padded) decode to nothing.
    out_of_tokenizer = range(len(tokenizer), vocab_size)
    banned = sorted((special_ids | set(out_of_tokenizer)) - {end_ids[0]})
    filler = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end_ids[0]
    return SpecialTokens(mask_id, end_ids, leading, trailing, filler, frozenset(special_ids), tuple(banned))


def resolve_limits(manifest: Manifest, max_positions: int | None, framing_tokens: int, folder: Path) -> Limits:
    """Return the token budgets: manifest values as given, defaults shrunk to fit ``max_positions``."""
    requested = (manifest.max_prefix_tokens, manifest.max_suffix_tokens, manifest.max_canvas_tokens)
    available = (max_positions or 1 << 30) - framing_tokens
    if None not in requested:
        prefix, suffix, canvas = requested
    else:
        # Defaults fill the position budget in the order canvas, suffix, prefix, about 1 : 2 : 4 of it.
        canvas = manifest.max_canvas_tokens or min(DEFAULT_CANVAS_TOKENS, max(4, available // 7))
        suffix = manifest.max_suffix_tokens or min(DEFAULT_SUFFIX_TOKENS, max(0, (available - canvas) // 3))
        prefix = manifest.max_prefix_tokens or min(DEFAULT_PREFIX_TOKENS, max(0, available - canvas - suffix))
    if prefix + suffix + canvas > available:
        raise ValueError(
            f"invalid limits in {folder / MANIFEST_NAME}: max_prefix_tokens {prefix} + max_suffix_tokens {suffix} "
            f"+ max_canvas_tokens {canvas} exceed the {available} positions the model leaves after its "
            f"{framing_tokens} special tokens; lower them so that they sum to at most {available}"
        )
    return Limits(prefix, suffix, canvas)


__all__ = ["Limits", "SpecialTokens", "resolve_limits", "resolve_special_tokens"]
