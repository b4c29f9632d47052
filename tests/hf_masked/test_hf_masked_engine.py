"""The hf-masked engine on a tiny random ModernBERT: layout, step caps, end tokens, cancellation, determinism."""

import pytest
import torch

from fim_server.engine.hf_masked import HFMaskedEngine
from fim_server.engine.loading import load_engine
from fim_server.engine.sampler import DenoiseState
from fim_server.engine.types import EFFORTS, FillCancelled
from fim_server.pipeline import CompletionPipeline, CompletionRequest

from masked_lm_helpers import PADDED_ROWS, SPECIAL_TOKENS, build_tokenizer, write_masked_lm

PREFIX = "def add(a, b):\n    return "
SUFFIX = "\n\nfor index in range(10):\n    print(index)\n"


class ForwardRecorder:
    """Record the ``input_ids`` and ``attention_mask`` of every model call of an engine."""

    def __init__(self, engine: HFMaskedEngine) -> None:
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._handle = engine.model.register_forward_pre_hook(self._record, with_kwargs=True)

    def _record(self, module, args, kwargs):
        self.calls.append((kwargs["input_ids"].clone(), kwargs["attention_mask"].clone()))

    def close(self) -> None:
        self._handle.remove()


@pytest.fixture()
def recorder(masked_lm_engine):
    recording = ForwardRecorder(masked_lm_engine)
    yield recording
    recording.close()


def load(folder):
    return load_engine(folder, dtype="float32", threads=1)


def assert_no_special_tokens(text: str) -> None:
    for token in SPECIAL_TOKENS:
        assert token not in text


def test_load_engine_selects_hf_masked(masked_lm_engine):
    engine = masked_lm_engine
    tokenizer = engine.tokenizer
    assert isinstance(engine, HFMaskedEngine)
    assert engine.kind == "hf-masked"
    assert engine.tokens.mask_id == tokenizer.convert_tokens_to_ids("[MASK]")
    # EOS and SEP are the same token in this tokenizer, and PAD ends the middle too.
    assert engine.tokens.end_ids == (tokenizer.sep_token_id, tokenizer.pad_token_id)
    assert engine.tokens.leading == (tokenizer.cls_token_id,)
    assert engine.tokens.trailing == (tokenizer.sep_token_id,)
    banned = set(engine.tokens.banned_ids)
    assert tokenizer.sep_token_id not in banned
    assert {tokenizer.mask_token_id, tokenizer.cls_token_id, tokenizer.pad_token_id} <= banned
    assert set(range(len(tokenizer), engine.config.vocab_size)) <= banned


def test_sequence_layout_at_first_step(masked_lm_engine, recorder):
    engine, tokenizer = masked_lm_engine, masked_lm_engine.tokenizer
    engine.fill(PREFIX, SUFFIX, canvas_tokens=6, effort="low")
    input_ids, attention_mask = recorder.calls[0]
    expected = ([tokenizer.cls_token_id] + tokenizer.encode(PREFIX, add_special_tokens=False)
                + [tokenizer.mask_token_id] * 6 + tokenizer.encode(SUFFIX, add_special_tokens=False)
                + [tokenizer.sep_token_id])
    assert input_ids.tolist() == [expected]
    assert attention_mask.tolist() == [[1] * len(expected)]


def test_probed_lengths_share_one_batch(masked_lm_engine, recorder):
    result = masked_lm_engine.fill(PREFIX, SUFFIX, canvas_tokens=12, effort="medium")
    assert [c.canvas_tokens for c in result.candidates] == [12, 6]
    input_ids, attention_mask = recorder.calls[0]
    assert input_ids.shape[0] == 2
    assert attention_mask.sum(dim=1).tolist()[0] - attention_mask.sum(dim=1).tolist()[1] == 6
    mask_id = masked_lm_engine.tokens.mask_id
    assert (input_ids[0] == mask_id).sum() == 12
    assert (input_ids[1] == mask_id).sum() == 6


@pytest.mark.parametrize("effort", list(EFFORTS))
def test_step_cap_per_effort(tmp_path, effort):
    # End tokens pushed far down: every row runs to its canvas length or to the step cap.
    engine = load(write_masked_lm(tmp_path / "model", bias={"[SEP]": -30.0, "[PAD]": -30.0}))
    recording = ForwardRecorder(engine)
    profile = EFFORTS[effort]
    result = engine.fill(PREFIX, SUFFIX, canvas_tokens=32, effort=effort)
    passes = 2 if profile.revision else 1
    assert result.steps <= profile.max_steps * passes
    assert result.steps == len(recording.calls)
    assert len(result.tokens_per_step) == result.steps
    if effort in ("instant", "low"):
        # Random weights never reach the threshold: one forced commit per step, the rest on the last step.
        assert result.steps == profile.max_steps
        assert result.tokens_per_step == [1] * (profile.max_steps - 1) + [32 - profile.max_steps + 1]
    for candidate in result.candidates:
        assert not candidate.finished
        assert candidate.text
        assert_no_special_tokens(candidate.text)


def test_special_tokens_never_appear(tmp_path):
    last_row = len(build_tokenizer()) + PADDED_ROWS - 1  # a logit row that no token decodes to
    bias = {"[CLS]": 40.0, "[MASK]": 40.0, "[UNK]": 40.0, last_row: 40.0}
    engine = load(write_masked_lm(tmp_path / "model", bias=bias))
    assert engine.config.vocab_size == last_row + 1
    for effort in EFFORTS:
        result = engine.fill(PREFIX, SUFFIX, canvas_tokens=8, effort=effort)
        for candidate in result.candidates:
            # Suppressed at sampling, so ordinary tokens fill the canvas in their place.
            assert candidate.text
            assert_no_special_tokens(candidate.text)
            ids = engine.tokenizer.encode(candidate.text, add_special_tokens=False)
            assert not set(ids) & engine.tokens.special_ids


def test_decoding_strips_special_tokens(masked_lm_engine):
    engine, tokenizer = masked_lm_engine, masked_lm_engine.tokenizer
    words = tokenizer.encode("return a", add_special_tokens=False)
    row = [tokenizer.cls_token_id, *words, tokenizer.mask_token_id, len(tokenizer) + 1, tokenizer.sep_token_id, 7]
    state = DenoiseState(torch.tensor([row]), torch.full((1, len(row)), 0.5), torch.ones(1, len(row), dtype=torch.bool))
    candidate = engine._decode_row(state, 0, len(row))
    assert candidate.text == "return a"
    assert candidate.finished
    assert candidate.confidence == pytest.approx(0.5)


def test_end_token_ends_the_middle(tmp_path):
    engine = load(write_masked_lm(tmp_path / "model", bias={"[SEP]": 20.0}))
    recording = ForwardRecorder(engine)
    result = engine.fill(PREFIX, SUFFIX, canvas_tokens=10, effort="low")
    candidate = result.candidates[0]
    # Step 1 commits [SEP] on slots 1 and 2 of the window of 3 (an end is not allowed on slot 0), and the
    # slots right of them become padding. Step 2 fills slot 0.
    assert EFFORTS["low"].window == 3
    assert candidate.finished
    assert result.steps == 2
    assert result.tokens_per_step == [2, 1]
    assert len(engine.tokenizer.encode(candidate.text, add_special_tokens=False)) >= 1
    assert_no_special_tokens(candidate.text)
    # The second call leaves the committed end and everything right of it out of the sequence.
    tokenizer = engine.tokenizer
    second_ids, _ = recording.calls[1]
    expected = ([tokenizer.cls_token_id] + tokenizer.encode(PREFIX, add_special_tokens=False)
                + [tokenizer.mask_token_id] + tokenizer.encode(SUFFIX, add_special_tokens=False)
                + [tokenizer.sep_token_id])
    assert second_ids.tolist() == [expected]


def test_pad_ends_the_middle_by_default(tmp_path):
    engine = load(write_masked_lm(tmp_path / "model", bias={"[PAD]": 20.0}))
    result = engine.fill(PREFIX, SUFFIX, canvas_tokens=10, effort="low")
    assert result.candidates[0].finished
    assert result.steps == 2


def test_end_tokens_from_manifest(tmp_path):
    folder = write_masked_lm(tmp_path / "model", bias={"[SEP]": 20.0}, manifest={"end_tokens": ["[PAD]"]})
    engine = load(folder)
    assert engine.tokens.end_ids == (engine.tokenizer.pad_token_id,)
    result = engine.fill(PREFIX, SUFFIX, canvas_tokens=10, effort="low")
    # [SEP] is now an ordinary special token: suppressed, so it cannot end the middle.
    assert not result.candidates[0].finished
    assert_no_special_tokens(result.candidates[0].text)


def test_cancel_stops_within_one_step(masked_lm_engine, recorder):
    with pytest.raises(FillCancelled):
        masked_lm_engine.fill(PREFIX, SUFFIX, canvas_tokens=16, effort="medium",
                              should_stop=lambda: len(recorder.calls) >= 2)
    assert len(recorder.calls) == 2


def test_cancel_before_first_step(masked_lm_engine, recorder):
    with pytest.raises(FillCancelled):
        masked_lm_engine.fill(PREFIX, SUFFIX, canvas_tokens=16, should_stop=lambda: True)
    assert recorder.calls == []


def test_fill_is_deterministic(masked_lm_engine, tmp_path):
    first = masked_lm_engine.fill(PREFIX, SUFFIX, canvas_tokens=12, effort="high")
    second = masked_lm_engine.fill(PREFIX, SUFFIX, canvas_tokens=12, effort="high")
    rebuilt = load(write_masked_lm(tmp_path / "same-seed", seed=0))
    third = rebuilt.fill(PREFIX, SUFFIX, canvas_tokens=12, effort="high")
    for other in (second, third):
        assert [c.text for c in other.candidates] == [c.text for c in first.candidates]
        assert [c.confidence for c in other.candidates] == [c.confidence for c in first.candidates]
        assert other.tokens_per_step == first.tokens_per_step


def test_long_context_is_trimmed(masked_lm_engine, recorder):
    engine = masked_lm_engine
    limits = engine.limits
    prefix, suffix = "x = 1\n" * 2000 + PREFIX, SUFFIX + "y = 2\n" * 2000
    assert len(engine.encode_prefix(prefix)) == limits.max_prefix_tokens
    assert len(engine.encode_suffix(suffix)) == limits.max_suffix_tokens
    tail = engine.tokenizer.encode(PREFIX, add_special_tokens=False)
    assert engine.encode_prefix(prefix)[-len(tail):] == tail
    result = engine.fill(prefix, suffix, canvas_tokens=10_000, effort="instant")
    assert result.candidates[0].canvas_tokens == limits.max_canvas_tokens
    assert recorder.calls[0][0].shape[1] <= engine.config.max_position_embeddings


def test_invalid_effort_is_rejected(masked_lm_engine):
    with pytest.raises(ValueError, match="invalid effort 'fast'"):
        masked_lm_engine.fill(PREFIX, SUFFIX, canvas_tokens=8, effort="fast")


def test_pipeline_completes_python_snippet(masked_lm_engine):
    text = "def add(a, b):\n    return \n\n\nprint(add(1, 2))\n"
    pipeline = CompletionPipeline(masked_lm_engine, default_effort="low")
    try:
        result = pipeline.complete(CompletionRequest(text=text, line=1, character=11, language="python"))
    finally:
        pipeline.close()
    assert result.steps[:2] == ["context", "fill"]
    assert 1 <= result.model_steps <= EFFORTS["low"].max_steps
    assert result.cache == "uncached"
    assert {"fill.tokenize", "fill.denoise"} <= set(result.timings_ms)
    assert result.candidates
    for candidate in result.candidates:
        assert_no_special_tokens(candidate.text)
    assert_no_special_tokens(result.text)


def test_zero_prefix_budget_keeps_no_prefix_tokens(masked_lm_engine):
    import dataclasses

    original = masked_lm_engine.limits
    masked_lm_engine.limits = dataclasses.replace(original, max_prefix_tokens=0)
    try:
        assert masked_lm_engine.encode_prefix("def f(x):\n    return x\n") == []
    finally:
        masked_lm_engine.limits = original
