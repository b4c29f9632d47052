"""The ``hf-masked`` engine: a masked language model from a local Hugging Face folder.

Any checkpoint that ``transformers.AutoModelForMaskedLM`` loads without custom
code (ModernBERT, BERT, RoBERTa and the like) fills a canvas the way the
project's own model does. Each row is one bidirectional sequence::

    [leading specials] [prefix] [canvas of mask tokens] [suffix] [trailing specials]

Such models have no context cache, so every denoising step re-runs the whole
sequence. Commits follow ``sampler.denoise`` (same thresholds, step caps and
revision pass per effort). The tokenizer's EOS, SEP and PAD tokens, or the
manifest's ``end_tokens``, end the middle: their probabilities are summed into
the first of them, and once one is committed the slots right of it become end
tokens. From the next step on, the committed end and the slots after it are
left out of the sequence, so the model reads the middle directly followed by
the suffix. Decoding is greedy, so a fill is deterministic for given weights.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer
from transformers.utils import logging as transformers_logging

from .dtypes import resolve_dtype
from .engine import DTYPES, load_weights
from .hf_tokens import SpecialTokens, resolve_limits, resolve_special_tokens
from .manifest import MANIFEST_NAME, Manifest, read_manifest
from .sampler import NEG_INF, DenoiseState, denoise
from .types import EFFORTS, Candidate, FillCancelled, FillResult, with_request_budget

log = logging.getLogger("fim_server.engine")

_ROUND_TRIP_PROBE = "def f(x):\n\tif x:\n        return [x]  # done\n"


def masked_lm_model_types() -> frozenset[str]:
    """Return the config ``model_type`` names that ``AutoModelForMaskedLM`` loads without custom code."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    return frozenset(MODEL_FOR_MASKED_LM_MAPPING_NAMES)


def check_masked_lm_folder(path: Path) -> None:
    """Raise ValueError unless ``path/config.json`` names a masked language model that transformers supports."""
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    model_type = config.get("model_type")
    if model_type in masked_lm_model_types():
        return
    custom = " It names custom model code (auto_map), which this server does not run." if "auto_map" in config else ""
    raise ValueError(
        f"model folder {path} is not a masked language model: model_type {model_type!r} has no "
        f"AutoModelForMaskedLM class in transformers.{custom} Use a masked LM checkpoint (such as modernbert, "
        f"bert or roberta), or set \"model_format\" in {path / MANIFEST_NAME} to the folder's real format"
    )


def _load_tokenizer(path: Path):
    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(
            f"cannot load a tokenizer from {path} ({exc}): add tokenizer.json, or the files that its "
            "tokenizer_config.json names, to the folder"
        ) from exc


def _warn_if_lossy(tokenizer, path: Path) -> None:
    ids = tokenizer.encode(_ROUND_TRIP_PROBE, add_special_tokens=False)
    decoded = tokenizer.decode(ids, clean_up_tokenization_spaces=False)
    if decoded != _ROUND_TRIP_PROBE:
        log.warning("the tokenizer of %s does not reproduce code exactly (%r became %r), "
                    "so completions may lose whitespace or characters", path, _ROUND_TRIP_PROBE, decoded)


def merge_end_logits(logits: torch.Tensor, end_ids: tuple[int, ...]) -> torch.Tensor:
    """Put log(sum of the end tokens' probabilities) on ``end_ids[0]`` and remove the others.

    logits: (K, C, V) float, changed in place and returned.
    """
    if len(end_ids) > 1:
        logits[..., end_ids[0]] = torch.logsumexp(logits[..., list(end_ids)], dim=-1)
        logits[..., list(end_ids[1:])] = NEG_INF
    return logits


class HFMaskedEngine:
    """Load a Hugging Face masked LM folder once and fill canvases between a prefix and a suffix."""

    kind = "hf-masked"

    def __init__(self, model_path: str | Path, *, dtype: str = "auto", threads: int | None = None,
                 manifest: Manifest | None = None) -> None:
        self.path = Path(model_path)
        dtype = resolve_dtype(dtype)
        manifest = manifest if manifest is not None else read_manifest(self.path)
        check_masked_lm_folder(self.path)
        if threads:
            torch.set_num_threads(threads)
        transformers_logging.disable_progress_bar()  # keeps stderr clean for editors that show it
        self.tokenizer = _load_tokenizer(self.path)
        # Not mapped from the file, so rewriting the files cannot crash the server.
        self.model = load_weights(self.path, lambda: AutoModelForMaskedLM.from_pretrained(
            str(self.path), local_files_only=True, trust_remote_code=False, dtype=DTYPES[dtype],
            disable_mmap=True)).eval()
        self.config = self.model.config
        self.tokens: SpecialTokens = resolve_special_tokens(
            self.tokenizer, manifest, self.config.vocab_size, self.path)
        framing = len(self.tokens.leading) + len(self.tokens.trailing)
        self.limits = resolve_limits(manifest, getattr(self.config, "max_position_embeddings", None), framing,
                                     self.path)
        self._tokenizer_size = len(self.tokenizer)
        _warn_if_lossy(self.tokenizer, self.path)
        self._lock = threading.Lock()
        log.info("loaded %s (%s, %s masked LM, mask id %d, end ids %s)", self.path, dtype,
                 self.config.model_type, self.tokens.mask_id, list(self.tokens.end_ids))

    # -- tokenization ---------------------------------------------------------

    def encode_prefix(self, prefix: str) -> list[int]:
        if not prefix:
            return []
        limit = self.limits.max_prefix_tokens
        if limit <= 0:
            return []  # ids[-0:] would keep every token
        ids = self.tokenizer.encode(prefix[-limit * 8 :], add_special_tokens=False, split_special_tokens=True)
        return ids[-limit:]

    def encode_suffix(self, suffix: str) -> list[int]:
        if not suffix:
            return []
        limit = self.limits.max_suffix_tokens
        ids = self.tokenizer.encode(suffix[: limit * 8], add_special_tokens=False, split_special_tokens=True)
        return ids[:limit]

    def _tokenize(self, prefix: str, suffix: str, timings: dict[str, float]) -> tuple[list[int], list[int]]:
        started = time.perf_counter()
        ids = self.encode_prefix(prefix), self.encode_suffix(suffix)
        timings["tokenize"] = (time.perf_counter() - started) * 1000
        return ids

    def canvas_lengths(self, hint: int, factors: tuple[float, ...], count: int) -> list[int]:
        """Return ``count`` canvas lengths: the hint scaled by each probe factor, from 4 to the canvas limit."""
        limit = self.limits.max_canvas_tokens
        lengths = [min(limit, max(4, round(hint * factor))) for factor in factors]
        lengths += [lengths[-1]] * (count - len(lengths))
        return lengths[:count]

    # -- fill -----------------------------------------------------------------

    def fill(self, prefix: str, suffix: str, *, canvas_tokens: int, effort: str = "low", should_stop=None) -> FillResult:
        """Denoise one canvas per probed length between ``prefix`` and ``suffix``.

        Raises ``FillCancelled`` when ``should_stop()`` turns true before a step.
        """
        if effort not in EFFORTS:
            raise ValueError(f"invalid effort {effort!r}: use one of {', '.join(EFFORTS)}")
        profile = with_request_budget(EFFORTS[effort], should_stop)
        with self._lock, torch.inference_mode():
            timings: dict[str, float] = {}
            prefix_ids, suffix_ids = self._tokenize(prefix, suffix, timings)
            if should_stop is not None and should_stop():
                raise FillCancelled()

            lengths = self.canvas_lengths(canvas_tokens, profile.length_factors, profile.candidates)
            state = self._new_state(lengths)
            score = self._scorer(state, prefix_ids, suffix_ids)
            started = time.perf_counter()
            denoise(score, state, profile, mask_id=self.tokens.mask_id, eom_id=self.tokens.end_id,
                    banned_ids=list(self.tokens.banned_ids), should_stop=should_stop)
            timings["denoise"] = (time.perf_counter() - started) * 1000
            candidates = [self._decode_row(state, row, length) for row, length in enumerate(lengths)]
            candidates.sort(key=lambda candidate: -candidate.confidence)  # best first; no prefix head to rank by fit
            return FillResult(candidates, state.steps, state.tokens_per_step, timings, "uncached",
                              budget_hit=state.budget_hit)

    def _new_state(self, lengths: list[int]) -> DenoiseState:
        rows, width = len(lengths), max(lengths)
        valid = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]  # (K, C)
        tokens = torch.full((rows, width), self.tokens.mask_id, dtype=torch.long)
        tokens[~valid] = self.tokens.filler_id
        return DenoiseState(tokens, torch.zeros(rows, width), valid)

    def _scorer(self, state: DenoiseState, prefix_ids: list[int], suffix_ids: list[int]):
        """Build ``score(canvas (K, C)) -> logits (K, C, V)`` that runs the whole sequence of each row."""
        left = torch.tensor([*self.tokens.leading, *prefix_ids], dtype=torch.long)
        right = torch.tensor([*suffix_ids, *self.tokens.trailing], dtype=torch.long)
        end_id, filler = self.tokens.end_id, self.tokens.filler_id

        def score(canvas: torch.Tensor) -> torch.Tensor:
            # Slots from the first committed end token on, and slots past a row's length, are left out.
            visible = state.valid & ~((canvas == end_id).cumsum(dim=-1) > 0)  # (K, C)
            rows = [torch.cat([left, canvas[row][visible[row]], right]) for row in range(canvas.shape[0])]
            width = max(len(ids) for ids in rows)
            input_ids = torch.full((len(rows), width), filler, dtype=torch.long)  # (K, W), right-padded
            attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
            for row, ids in enumerate(rows):
                input_ids[row, : len(ids)] = ids
                attention_mask[row, : len(ids)] = 1
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits.float()  # (K, W, V)
            # Column of each canvas slot in its row. Left-out slots read an arbitrary column because no commit uses them.
            columns = len(left) + (visible.cumsum(dim=-1) - 1).clamp_min(0)  # (K, C)
            canvas_logits = logits.gather(1, columns[..., None].expand(-1, -1, logits.shape[-1]))  # (K, C, V)
            return merge_end_logits(canvas_logits, self.tokens.end_ids)

        return score

    def _decode_row(self, state: DenoiseState, row: int, length: int) -> Candidate:
        ids = state.tokens[row, :length].tolist()
        end_id = self.tokens.end_id
        finished = end_id in ids
        end = ids.index(end_id) if finished else length
        kept = state.confidence[row, : min(end + 1, length)].clamp_min(1e-9)
        confidence = float(kept.log().mean().exp()) if kept.numel() else 0.0
        text_ids = [token for token in ids[:end]
                    if token not in self.tokens.special_ids and token < self._tokenizer_size]
        text = self.tokenizer.decode(text_ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        return Candidate(text=text, confidence=confidence, finished=finished, canvas_tokens=length)


__all__ = ["HFMaskedEngine", "check_masked_lm_folder", "masked_lm_model_types", "merge_end_logits"]
