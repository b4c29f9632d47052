"""The autoregressive engine: greedy decoding through the cache, keystroke reuse, cancellation, loading."""

import json

import pytest
import torch

from fim_server.engine.autoregressive import AutoregressiveEngine
from fim_server.engine.engine import DiffusionEngine
from fim_server.engine.loading import load_engine
from fim_server.engine.sampler import FillCancelled
from fim_server.model import CANVAS, PREFIX, SUFFIX
from fim_server.pipeline import CompletionPipeline, CompletionRequest

PREFIX_TEXT = "class Stack:\n    def __init__(self):\n        self."
SUFFIX_TEXT = "\n\n    def push(self, item):\n        self.items.append(item)\n"


@pytest.fixture()
def engine(autoregressive_model_path):
    return AutoregressiveEngine(autoregressive_model_path, dtype="float32", threads=1)


def greedy_without_cache(engine: AutoregressiveEngine, prefix: str, suffix: str, count: int) -> list[int]:
    """Decode ``count`` tokens with a full forward per token (no end-of-middle, no cache)."""
    config = engine.config
    prefix_ids, suffix_ids = engine.encode_prefix(prefix), engine.encode_suffix(suffix)
    ids = prefix_ids + suffix_ids + [config.middle_token_id]
    segments = [PREFIX] * len(prefix_ids) + [SUFFIX] * len(suffix_ids) + [CANVAS]
    generated = []
    for _ in range(count):
        with torch.no_grad():
            logits = engine.model(torch.tensor([ids]), torch.tensor([segments]), torch.arange(len(ids))[None])
        scores = logits[0, -1].clone()
        scores[[config.middle_token_id, config.pad_token_id, config.eom_token_id]] = float("-inf")
        token = int(scores.argmax())
        generated.append(token)
        ids.append(token)
        segments.append(CANVAS)
    return generated


def test_fill_returns_one_greedy_candidate(engine):
    result = engine.fill(PREFIX_TEXT, SUFFIX_TEXT, canvas_tokens=12, effort="low")
    assert len(result.candidates) == 1
    candidate = result.candidates[0]
    assert isinstance(candidate.text, str)
    assert candidate.canvas_tokens == 12
    assert 1 <= result.steps <= 12
    assert result.tokens_per_step == [1] * result.steps
    assert 0.0 < candidate.confidence <= 1.0
    assert result.cache == "miss"
    assert {"tokenize", "encode_context", "decode"} <= set(result.timings_ms)


def test_cached_decoding_matches_uncached_greedy(engine):
    engine.banned_ids = engine.banned_ids + [engine.config.eom_token_id]  # force the full length
    result = engine.fill(PREFIX_TEXT, SUFFIX_TEXT, canvas_tokens=10)
    expected = greedy_without_cache(engine, PREFIX_TEXT, SUFFIX_TEXT, 10)
    assert result.steps == 10
    assert not result.candidates[0].finished
    assert result.candidates[0].text == engine.tokenizer.decode(expected, skip_special_tokens=True)


def test_keystrokes_reuse_prefix_cache_exactly(engine, autoregressive_model_path):
    fresh = AutoregressiveEngine(autoregressive_model_path, dtype="float32", threads=1)
    typed = PREFIX_TEXT + "items = "
    states = []
    for prefix in (PREFIX_TEXT, PREFIX_TEXT, typed, PREFIX_TEXT[:-3]):
        result = engine.fill(prefix, SUFFIX_TEXT, canvas_tokens=8)
        states.append(result.cache)
        fresh.forget_context()  # a cold engine encodes everything again
        reference = fresh.fill(prefix, SUFFIX_TEXT, canvas_tokens=8)
        assert result.candidates[0].text == reference.candidates[0].text
        assert result.candidates[0].confidence == pytest.approx(reference.candidates[0].confidence, abs=1e-5)
    assert states == ["miss", "hit", "append", "append"]


def test_changed_suffix_keeps_prefix_cache(engine):
    engine.fill(PREFIX_TEXT, SUFFIX_TEXT, canvas_tokens=6)
    result = engine.fill(PREFIX_TEXT, "\n", canvas_tokens=6)
    assert result.cache == "append"
    assert engine.fill("", "", canvas_tokens=4).cache == "miss"


def test_cancellation_between_tokens(engine):
    engine.banned_ids = engine.banned_ids + [engine.config.eom_token_id]
    calls = []

    def stop_after_three() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(FillCancelled):
        engine.fill(PREFIX_TEXT, SUFFIX_TEXT, canvas_tokens=32, should_stop=stop_after_three)
    assert len(calls) == 4  # one check before the prompt, then one per token
    after = engine.fill(PREFIX_TEXT, SUFFIX_TEXT, canvas_tokens=5)
    assert after.steps == 5


def test_cancelled_before_the_prompt(engine):
    with pytest.raises(FillCancelled):
        engine.fill(PREFIX_TEXT, SUFFIX_TEXT, canvas_tokens=8, should_stop=lambda: True)
    assert engine._prompt is None


def test_invalid_effort_is_rejected(engine):
    with pytest.raises(ValueError, match="invalid effort 'fast'"):
        engine.fill(PREFIX_TEXT, SUFFIX_TEXT, canvas_tokens=8, effort="fast")


def test_load_engine_follows_model_type(autoregressive_model_path, tmp_path):
    assert isinstance(load_engine(autoregressive_model_path, dtype="float32"), AutoregressiveEngine)
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_engine(tmp_path / "missing")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ValueError, match="unsupported model_type 'gpt2'"):
        load_engine(tmp_path)


def test_load_engine_keeps_diffusion_models(bundled_model_path):
    assert isinstance(load_engine(bundled_model_path, dtype="float32", threads=1), DiffusionEngine)


def test_pipeline_runs_the_autoregressive_engine(engine):
    pipeline = CompletionPipeline(engine)
    try:
        result = pipeline.complete(CompletionRequest(prefix="def square(x):\n    return ", suffix="\n",
                                                     language="python"))
    finally:
        pipeline.close()
    assert result.steps[:2] == ["context", "fill"]
    assert result.model_steps >= 1
    assert result.cache == "miss"
    assert "fill.decode" in result.timings_ms


def test_cli_builds_the_engine_from_the_folder(autoregressive_model_path):
    from fim_server.cli import build_pipeline
    from fim_server.config import load_settings

    pipeline = build_pipeline(load_settings({"model": str(autoregressive_model_path), "dtype": "float32"}))
    try:
        assert pipeline.engine.kind == "autoregressive"
    finally:
        pipeline.close()


def test_lsp_loader_selects_autoregressive_engine(autoregressive_model_path, bundled_model_path):
    from fim_server.config import Settings
    from fim_server.lsp.engines import diffusion_loader

    load = diffusion_loader(Settings(model=str(bundled_model_path), dtype="float32"))
    pipeline = load(str(autoregressive_model_path))
    try:
        assert pipeline.engine.kind == "autoregressive"
    finally:
        pipeline.close()
