"""The resident diffusion engine: model, tokenizer, context cache and sampler.

One engine is loaded per process and kept in memory. ``fill`` is synchronous and
not re-entrant: callers serialise it (the pipeline runs it on one worker thread).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers.utils import logging as transformers_logging

from ..model import CANVAS, PREFIX, SLOT_PAD, SUFFIX, ContextCache, FimDiffusionModel
from ..model.tokenizer import load_tokenizer
from .sampler import DenoiseState, denoise, masked_slots
from .dtypes import resolve_dtype
from .types import EFFORTS, Candidate, EffortProfile, FillCancelled, FillResult, ModelLoadError, with_request_budget

log = logging.getLogger("fim_server.engine")

DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32}
_PREFIX_TRIM_CHUNK = 32  # left-trim the prefix in chunks so the cache survives typing
_CHAR_WINDOW_STEP = 512
# Suffix tokens scored after each candidate, so that its fit also measures how it joins the code after it.
FIT_SUFFIX_TOKENS = 4


def load_model_folder(model_path: str | Path, model_class, *, dtype: str, threads: int | None):
    """Load (path, torch dtype, tokenizer, model in eval mode) from an exported model folder."""
    path = Path(model_path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(
            f"model folder {path} has no config.json; pass a folder written by `fim-server train --export`"
        )
    dtype = resolve_dtype(dtype)
    if threads:
        torch.set_num_threads(threads)
    if not (path / "tokenizer.json").is_file():
        raise ModelLoadError(f"model folder {path} is missing tokenizer.json: export it again with "
                             "`fim-server train --export` or copy the whole folder")
    try:
        tokenizer = load_tokenizer(path)
    except Exception as exc:  # tokenizers and transformers raise several types for a damaged file
        raise ModelLoadError(f"failed to load the tokenizer in {path}: {type(exc).__name__}: {exc}") from exc
    transformers_logging.disable_progress_bar()  # keeps stderr clean for editors that show it
    # Read the weights into memory instead of mapping the file: a re-export that rewrites a mapped
    # file in place would otherwise kill the server with SIGBUS on its next step.
    model = load_weights(path, lambda: model_class.from_pretrained(str(path), dtype=DTYPES[dtype], disable_mmap=True))
    return path, DTYPES[dtype], tokenizer, model.eval()


def load_weights(path: Path, load):
    """Call ``load`` and turn any failure to read the weights in ``path`` into a ModelLoadError."""
    try:
        return load()
    except Exception as exc:  # safetensors, torch and transformers raise several types for a damaged file
        raise ModelLoadError(f"failed to load the weights in {path}: {type(exc).__name__}: {exc}. Copy or export "
                             "the folder again") from exc


@dataclass(slots=True)
class _CachedContext:
    suffix_ids: list[int]
    prefix_ids: list[int]
    cache: ContextCache


class DiffusionEngine:
    """Load a model folder once and fill canvases between a prefix and a suffix."""

    kind = "diffusion"

    def __init__(self, model_path: str | Path, *, dtype: str = "auto", threads: int | None = None) -> None:
        self.path, self.dtype, self.tokenizer, self.model = load_model_folder(
            model_path, FimDiffusionModel, dtype=dtype, threads=threads)
        self.config = self.model.config
        self.banned_ids = [self.config.mask_token_id, self.config.pad_token_id]
        self._context: _CachedContext | None = None
        self._lock = threading.Lock()
        log.info("loaded %s (%s, layout %s)", self.path, self.dtype, self.config.attention_layout)

    # -- tokenization ---------------------------------------------------------

    def encode_prefix(self, prefix: str) -> list[int]:
        if not prefix:
            return []
        # Tokenize a character window whose start moves in steps of _CHAR_WINDOW_STEP,
        # so typing at the end keeps the leading tokens and the cache can be extended.
        start = max(0, len(prefix) - self.config.max_prefix_tokens * 8)
        ids = self.tokenizer.encode(prefix[start // _CHAR_WINDOW_STEP * _CHAR_WINDOW_STEP :])
        limit = self.config.max_prefix_tokens
        if len(ids) > limit:
            excess = len(ids) - limit
            start = -(-excess // _PREFIX_TRIM_CHUNK) * _PREFIX_TRIM_CHUNK  # round up to a chunk
            ids = ids[start:]
        return ids

    def encode_suffix(self, suffix: str) -> list[int]:
        if not suffix:
            return []
        return self.tokenizer.encode(suffix[: self.config.max_suffix_tokens * 8])[: self.config.max_suffix_tokens]

    # -- context cache ----------------------------------------------------------

    def _encode(self, ids: list[int], segment: int, positions: list[int], past: ContextCache | None) -> ContextCache:
        input_ids = torch.tensor([ids], dtype=torch.long)
        segments = torch.full_like(input_ids, segment)
        position_ids = torch.tensor([positions], dtype=torch.long)
        return self.model.encode_context(input_ids, segments, position_ids, past)

    def _empty_cache(self) -> ContextCache:
        # A single slot-padding token gives the cache a batch dimension when both sides are empty.
        return self._encode([self.config.pad_token_id], SLOT_PAD, [0], None)

    def context_cache(self, prefix_ids: list[int], suffix_ids: list[int]) -> tuple[ContextCache, str]:
        """Return an exact cache for (suffix, prefix), reusing the previous one where possible."""
        previous = self._context
        if previous is not None and previous.suffix_ids == suffix_ids:
            common = 0
            for old, new in zip(previous.prefix_ids, prefix_ids):
                if old != new:
                    break
                common += 1
            if common == len(previous.prefix_ids) == len(prefix_ids):
                return previous.cache, "hit"
            if common > 0:
                base = previous.cache.truncate(previous.cache.length - len(previous.prefix_ids) + common)
                extra = prefix_ids[common:]
                cache = self._encode(extra, PREFIX, list(range(common, len(prefix_ids))), base) if extra else base
                self._context = _CachedContext(suffix_ids, prefix_ids, cache)
                return cache, "append"
        offset = self.config.suffix_position_offset
        cache = self._empty_cache()
        if suffix_ids:
            cache = self._encode(suffix_ids, SUFFIX, [offset + j for j in range(len(suffix_ids))], cache)
        if prefix_ids:
            cache = self._encode(prefix_ids, PREFIX, list(range(len(prefix_ids))), cache)
        self._context = _CachedContext(suffix_ids, prefix_ids, cache)
        return cache, "miss"

    def forget_context(self) -> None:
        """Drop the cached context, so that the next fill encodes suffix and prefix from scratch."""
        with self._lock:
            self._context = None

    # -- fill ---------------------------------------------------------------------

    def canvas_lengths(self, hint: int, factors: tuple[float, ...], count: int) -> list[int]:
        limit = self.config.max_canvas_tokens
        lengths = [min(limit, max(4, round(hint * f))) for f in factors]
        while len(lengths) < count:
            lengths.append(lengths[-1])
        return lengths[:count]

    def fill(self, prefix: str, suffix: str, *, canvas_tokens: int, effort: str = "low", should_stop=None) -> FillResult:
        """Denoise one or more canvases between ``prefix`` and ``suffix``.

        Raises ``FillCancelled`` when ``should_stop()`` turns true between steps.
        """
        profile = with_request_budget(EFFORTS[effort], should_stop)
        with self._lock, torch.inference_mode():
            timings: dict[str, float] = {}
            started = time.perf_counter()
            prefix_ids, suffix_ids = self.encode_prefix(prefix), self.encode_suffix(suffix)
            timings["tokenize"] = (time.perf_counter() - started) * 1000
            if should_stop is not None and should_stop():
                raise FillCancelled()

            started = time.perf_counter()
            if self.config.attention_layout == "cached":
                cache, cache_state = self.context_cache(prefix_ids, suffix_ids)
            else:
                cache, cache_state = None, "uncached"
            timings["encode_context"] = (time.perf_counter() - started) * 1000

            lengths = self.canvas_lengths(canvas_tokens, profile.length_factors, profile.candidates)
            state, score = self._prepare(lengths, prefix_ids, suffix_ids, cache)
            started = time.perf_counter()
            denoise(score, state, profile, mask_id=self.config.mask_token_id, eom_id=self.config.eom_token_id,
                    banned_ids=self.banned_ids, should_stop=should_stop)
            timings["denoise"] = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            candidates = self.ranked_candidates(state, lengths, profile, cache, prefix_ids, suffix_ids)
            timings["rank"] = (time.perf_counter() - started) * 1000
            return FillResult(candidates, state.steps, state.tokens_per_step, timings, cache_state,
                              budget_hit=state.budget_hit)

    def _prepare(self, lengths: list[int], prefix_ids: list[int], suffix_ids: list[int], cache: ContextCache | None):
        rows, width = len(lengths), max(lengths)
        mask_id = self.config.mask_token_id
        tokens = torch.full((rows, width), mask_id, dtype=torch.long)
        valid = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]  # (K, C)
        tokens[~valid] = self.config.pad_token_id
        state = DenoiseState(tokens, torch.zeros(rows, width), valid)
        p = len(prefix_ids)
        positions = (p + torch.arange(width))[None, :].expand(rows, -1)
        segments = torch.where(valid, CANVAS, SLOT_PAD)
        if cache is not None:
            batch_cache = cache.expand(rows)
            plan = self.model.plan_canvas(batch_cache, positions, segments)

            def score(canvas: torch.Tensor) -> torch.Tensor:
                # Logits only for the slots still masked, in the (N, V) form that denoise_step accepts.
                masked = masked_slots(state, mask_id)
                return self.model.score_canvas(batch_cache, canvas, positions, segments, plan=plan, output_mask=masked)

            return state, score
        offset = self.config.suffix_position_offset
        context_ids = torch.tensor(suffix_ids + prefix_ids, dtype=torch.long)[None].expand(rows, -1)
        context_seg = torch.tensor([SUFFIX] * len(suffix_ids) + [PREFIX] * p, dtype=torch.long)[None].expand(rows, -1)
        context_pos = torch.tensor([offset + j for j in range(len(suffix_ids))] + list(range(p)))[None].expand(rows, -1)
        all_seg = torch.cat([context_seg, segments], dim=1)
        all_pos = torch.cat([context_pos, positions], dim=1)
        start = context_ids.shape[1]

        def score_full(canvas: torch.Tensor) -> torch.Tensor:
            logits = self.model(torch.cat([context_ids, canvas], dim=1), all_seg, all_pos)
            return logits[:, start:]

        return state, score_full

    def ranked_candidates(self, state: DenoiseState, lengths: list[int], profile: EffortProfile,
                          cache: ContextCache | None, prefix_ids: list[int], suffix_ids: list[int]) -> list[Candidate]:
        """Decode every canvas row and return the candidates best first.

        With the profile's ``rank_by_fit`` and more than one candidate, the
        candidates are ranked by fit (``candidate_fit``), then confidence, else
        by confidence alone.

        NOTE: the fit scores each whole canvas row. The pipeline may show only
        its first line, so two candidates that show the same line can have
        different fits.
        """
        candidates = [self._decode_row(state, row, lengths[row]) for row in range(len(lengths))]
        if not (profile.rank_by_fit and cache is not None and len(candidates) > 1):
            return sorted(candidates, key=lambda candidate: -candidate.confidence)
        rows = [self._middle_ids(state, row, length)[0] for row, length in enumerate(lengths)]
        distinct = list(dict.fromkeys(map(tuple, rows)))  # Identical rows are scored once.
        fits = dict(zip(distinct, self.candidate_fit(cache, prefix_ids, suffix_ids, [list(row) for row in distinct])))
        for candidate, row in zip(candidates, rows):
            candidate.fit = fits[tuple(row)]
        return sorted(candidates, key=lambda candidate: (-candidate.fit, -candidate.confidence))

    def candidate_fit(self, cache: ContextCache, prefix_ids: list[int], suffix_ids: list[int],
                      rows: list[list[int]]) -> list[float]:
        """Return each token row's mean log-probability under the prefix head, followed by the suffix's start.

        The prefix head was trained to predict the next prefix token from the
        suffix and the earlier prefix, so appending a candidate to the prefix
        scores it left to right with the suffix in view. The first
        ``FIT_SUFFIX_TOKENS`` suffix tokens are scored after it. All rows run
        in one model call against ``cache``, a single-sequence context cache.
        """
        tail = suffix_ids[:FIT_SUFFIX_TOKENS]
        if prefix_ids:
            # Encode the last prefix token again, so that its output predicts each row's first token.
            base, lead, start = cache.truncate(cache.length - 1), prefix_ids[-1:], len(prefix_ids) - 1
        else:
            base, lead, start = cache, [], 0
        sequences = [lead + ids + tail for ids in rows]
        width = max(len(sequence) for sequence in sequences)
        if width < 2:
            return [0.0] * len(rows)  # An empty prefix and rows of one token leave nothing to predict.
        pad = self.config.pad_token_id
        input_ids = torch.tensor([sequence + [pad] * (width - len(sequence)) for sequence in sequences])
        valid = torch.arange(width)[None, :] < torch.tensor([len(sequence) for sequence in sequences])[:, None]
        segments = torch.where(valid, PREFIX, SLOT_PAD)
        positions = (start + torch.arange(width))[None, :].expand(len(rows), -1)
        logits = self.model.score_canvas(base.expand(len(rows)), input_ids, positions, segments)  # (K, W, V)
        log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        picked = log_probs.gather(-1, input_ids[:, 1:, None])[..., 0]  # (K, W - 1)
        scored = valid[:, 1:]
        counts = scored.sum(dim=-1).clamp_min(1)
        return ((picked * scored).sum(dim=-1) / counts).tolist()

    def _middle_ids(self, state: DenoiseState, row: int, length: int) -> tuple[list[int], bool]:
        """Return a canvas row's tokens before its first end-of-middle token, and whether it has one."""
        ids = state.tokens[row, :length].tolist()
        eom = self.config.eom_token_id
        return (ids[: ids.index(eom)], True) if eom in ids else (ids, False)

    def _decode_row(self, state: DenoiseState, row: int, length: int) -> Candidate:
        middle, finished = self._middle_ids(state, row, length)
        end = len(middle)
        kept = state.confidence[row, : min(end + 1, length)].clamp_min(1e-9)
        confidence = float(kept.log().mean().exp()) if kept.numel() else 0.0
        text = self.tokenizer.decode(middle, skip_special_tokens=True)
        return Candidate(text=text, confidence=confidence, finished=finished, canvas_tokens=length)


__all__ = ["Candidate", "DiffusionEngine", "FillCancelled", "FillResult"]
