"""The autoregressive baseline engine: prefill the PSM prompt, then decode one token at a time.

It keeps the ``fill`` contract of ``DiffusionEngine`` so that the completion
pipeline, the CLI and the benchmarks can use either model. Decoding is greedy at
every effort level; ``effort`` is validated and recorded but changes nothing.

Key/value reuse across keystrokes: in the PSM layout the prefix comes first and
attends only to earlier prefix tokens, so its keys and values survive while the
user types (new prefix tokens are appended, a backspace truncates). The suffix
and the middle sentinel follow the prefix and are re-encoded whenever the prefix
changes; an unchanged prefix and suffix reuse the whole prompt.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..model import CANVAS, PREFIX, SUFFIX, ContextCache, FimAutoregressiveModel
from .engine import Candidate, DiffusionEngine, FillResult, load_model_folder
from .sampler import EFFORTS, NEG_INF, FillCancelled, suppress_special

log = logging.getLogger("fim_server.engine")


@dataclass(slots=True)
class _CachedPrompt:
    prefix_ids: list[int]
    suffix_ids: list[int]
    prefix_cache: ContextCache | None  # None for an empty prefix
    prompt_cache: ContextCache  # prefix, suffix and middle sentinel
    first_logits: torch.Tensor  # (1, V) prediction of the first middle token


class AutoregressiveEngine:
    """Load a ``fim-autoregressive`` model folder once and decode middles between a prefix and a suffix."""

    kind = "autoregressive"

    # The same context windows as the diffusion engine, so both models see identical tokens.
    encode_prefix = DiffusionEngine.encode_prefix
    encode_suffix = DiffusionEngine.encode_suffix

    def __init__(self, model_path: str | Path, *, dtype: str = "auto", threads: int | None = None) -> None:
        self.path, self.dtype, self.tokenizer, self.model = load_model_folder(
            model_path, FimAutoregressiveModel, dtype=dtype, threads=threads)
        self.config = self.model.config
        self.banned_ids = [self.config.middle_token_id, self.config.pad_token_id]
        self._prompt: _CachedPrompt | None = None
        self._lock = threading.Lock()
        log.info("loaded %s (%s, autoregressive PSM)", self.path, self.dtype)

    def _extend(self, ids: list[int], segments: list[int], start: int, past: ContextCache | None, logits: bool):
        input_ids = torch.tensor([ids], dtype=torch.long)
        segment_ids = torch.tensor([segments], dtype=torch.long)
        position_ids = torch.arange(start, start + len(ids))[None]
        return self.model.extend(input_ids, segment_ids, position_ids, past, logits=logits)

    def _prefix_cache(self, prefix_ids: list[int]) -> tuple[ContextCache | None, str]:
        """Return the prefix keys/values, grown from or cut back to the previous prefix when they share tokens."""
        previous = self._prompt
        common = 0
        if previous is not None and previous.prefix_cache is not None:
            for old, new in zip(previous.prefix_ids, prefix_ids):
                if old != new:
                    break
                common += 1
        if common == 0:
            if not prefix_ids:
                return None, "miss"
            return self._extend(prefix_ids, [PREFIX] * len(prefix_ids), 0, None, logits=False)[1], "miss"
        base = previous.prefix_cache
        if common < base.length:
            base = base.truncate(common)
        extra = prefix_ids[common:]
        if not extra:
            return base, "append"
        return self._extend(extra, [PREFIX] * len(extra), common, base, logits=False)[1], "append"

    def prompt_cache(self, prefix_ids: list[int], suffix_ids: list[int]) -> tuple[_CachedPrompt, str]:
        """Encode prefix, suffix and the middle sentinel, reusing what the previous fill left."""
        previous = self._prompt
        if previous is not None and previous.prefix_ids == prefix_ids and previous.suffix_ids == suffix_ids:
            return previous, "hit"
        prefix_cache, state = self._prefix_cache(prefix_ids)
        tail = suffix_ids + [self.config.middle_token_id]
        segments = [SUFFIX] * len(suffix_ids) + [CANVAS]
        first_logits, cache = self._extend(tail, segments, len(prefix_ids), prefix_cache, logits=True)
        self._prompt = _CachedPrompt(prefix_ids, suffix_ids, prefix_cache, cache, first_logits)
        return self._prompt, state

    def max_new_tokens(self, hint: int) -> int:
        """Return the token budget: the diffusion engine's first canvas length for the same hint."""
        return min(self.config.max_canvas_tokens, max(4, hint))

    def forget_context(self) -> None:
        """Drop the cached prompt, so that the next fill encodes it from scratch."""
        self._prompt = None

    def fill(self, prefix: str, suffix: str, *, canvas_tokens: int, effort: str = "low", should_stop=None) -> FillResult:
        """Decode greedily until end-of-middle or ``max_new_tokens(canvas_tokens)`` tokens.

        Raises ``FillCancelled`` when ``should_stop()`` turns true between tokens.
        """
        if effort not in EFFORTS:
            raise ValueError(f"invalid effort {effort!r}: use one of {', '.join(EFFORTS)}")
        with self._lock, torch.inference_mode():
            timings: dict[str, float] = {}
            started = time.perf_counter()
            prefix_ids, suffix_ids = self.encode_prefix(prefix), self.encode_suffix(suffix)
            timings["tokenize"] = (time.perf_counter() - started) * 1000
            if should_stop is not None and should_stop():
                raise FillCancelled()

            started = time.perf_counter()
            prompt, cache_state = self.prompt_cache(prefix_ids, suffix_ids)
            timings["encode_context"] = (time.perf_counter() - started) * 1000

            started = time.perf_counter()
            limit = self.max_new_tokens(canvas_tokens)
            start = len(prefix_ids) + len(suffix_ids) + 1
            tokens, probs, finished = self._decode(prompt, start, limit, should_stop)
            timings["decode"] = (time.perf_counter() - started) * 1000
            return FillResult([self._candidate(tokens, probs, finished, limit)], len(probs), [1] * len(probs),
                              timings, cache_state)

    def _decode(self, prompt: _CachedPrompt, start: int, limit: int, should_stop):
        """Return (middle token ids, probability of each chosen token, end-of-middle reached)."""
        eom = self.config.eom_token_id
        logits, cache = prompt.first_logits, prompt.prompt_cache
        tokens: list[int] = []
        probs: list[float] = []
        for index in range(limit):
            if should_stop is not None and should_stop():
                raise FillCancelled()
            if index > 0:
                logits, cache = self._extend([tokens[-1]], [CANVAS], start + index - 1, cache, logits=True)
            scores = suppress_special(logits.float(), self.banned_ids)
            if index == 0:
                scores[:, eom] = NEG_INF  # an empty completion is never useful
            probability, token = torch.softmax(scores, dim=-1).max(dim=-1)
            probs.append(float(probability))
            if int(token) == eom:
                return tokens, probs, True
            tokens.append(int(token))
        return tokens, probs, False

    def _candidate(self, tokens: list[int], probs: list[float], finished: bool, limit: int) -> Candidate:
        kept = torch.tensor(probs).clamp_min(1e-9)
        confidence = float(kept.log().mean().exp()) if kept.numel() else 0.0
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        return Candidate(text=text, confidence=confidence, finished=finished, canvas_tokens=limit)


__all__ = ["AutoregressiveEngine"]
