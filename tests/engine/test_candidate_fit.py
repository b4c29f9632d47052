"""Candidates ranked by their fit: the prefix head's left-to-right score of candidate and suffix start."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from fim_server.engine.engine import FIT_SUFFIX_TOKENS, DiffusionEngine
from fim_server.engine.types import EFFORTS, Candidate, FillResult
from fim_server.model import PREFIX, SLOT_PAD, SUFFIX
from fim_server.pipeline import CompletionPipeline, CompletionRequest

PREFIX_TEXT = "def mean(values):\n    total = sum(values)\n    return "
SUFFIX_TEXT = "\n\n\ndef median(values):\n    ordered = sorted(values)\n"


def uncached_fit(engine: DiffusionEngine, prefix_ids: list[int], suffix_ids: list[int], row: list[int]) -> float:
    """The same score from one full forward over slot padding, suffix, then prefix + row + suffix start."""
    config = engine.config
    tail = suffix_ids[:FIT_SUFFIX_TOKENS]
    extended = prefix_ids + row + tail
    ids = [config.pad_token_id] + suffix_ids + extended
    segments = [SLOT_PAD] + [SUFFIX] * len(suffix_ids) + [PREFIX] * len(extended)
    positions = [0] + [config.suffix_position_offset + j for j in range(len(suffix_ids))] + list(range(len(extended)))
    logits = engine.model(torch.tensor([ids]), torch.tensor([segments]), torch.tensor([positions]))[0]
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    first = 1 + len(suffix_ids) + len(prefix_ids)  # index of the row's first token
    scores = [float(log_probs[index - 1, ids[index]]) for index in range(first, len(ids))]
    return sum(scores) / len(scores)


def test_cached_fit_matches_full_forward(engine):
    prefix_ids, suffix_ids = engine.encode_prefix(PREFIX_TEXT), engine.encode_suffix(SUFFIX_TEXT)
    rows = [engine.tokenizer.encode("total / len(values)"), engine.tokenizer.encode("0"), []]
    engine.forget_context()
    with torch.inference_mode():
        cache, _ = engine.context_cache(prefix_ids, suffix_ids)
        fits = engine.candidate_fit(cache, prefix_ids, suffix_ids, rows)
        expected = [uncached_fit(engine, prefix_ids, suffix_ids, row) for row in rows]
    assert len(fits) == 3
    assert fits == pytest.approx(expected, abs=1e-4)
    assert all(fit < 0 for fit in fits)


def test_fit_prefers_the_likely_line(engine):
    prefix_ids, suffix_ids = engine.encode_prefix(PREFIX_TEXT), engine.encode_suffix(SUFFIX_TEXT)
    likely = engine.tokenizer.encode("total / len(values)")
    unlikely = engine.tokenizer.encode(")]}; import import")
    engine.forget_context()
    with torch.inference_mode():
        cache, _ = engine.context_cache(prefix_ids, suffix_ids)
        fit_likely, fit_unlikely = engine.candidate_fit(cache, prefix_ids, suffix_ids, [likely, unlikely])
    assert fit_likely > fit_unlikely


@pytest.mark.parametrize("effort", ["medium", "high"])
def test_efforts_with_candidates_rank_by_fit(engine, effort):
    engine.forget_context()
    result = engine.fill(PREFIX_TEXT, SUFFIX_TEXT, canvas_tokens=12, effort=effort)
    assert len(result.candidates) == EFFORTS[effort].candidates
    fits = [candidate.fit for candidate in result.candidates]
    assert None not in fits
    assert fits == sorted(fits, reverse=True)
    assert "rank" in result.timings_ms


def test_without_fit_candidates_rank_by_confidence(engine):
    name = "medium-by-confidence"
    EFFORTS[name] = dataclasses.replace(EFFORTS["medium"], name=name, rank_by_fit=False)
    try:
        engine.forget_context()
        result = engine.fill(PREFIX_TEXT, SUFFIX_TEXT, canvas_tokens=12, effort=name)
    finally:
        del EFFORTS[name]
    assert [candidate.fit for candidate in result.candidates] == [None, None]
    confidences = [candidate.confidence for candidate in result.candidates]
    assert confidences == sorted(confidences, reverse=True)


def test_equal_fits_rank_by_confidence(engine, monkeypatch):
    monkeypatch.setattr(engine, "candidate_fit", lambda cache, prefix_ids, suffix_ids, rows: [-2.0] * len(rows))
    engine.forget_context()
    result = engine.fill(PREFIX_TEXT, SUFFIX_TEXT, canvas_tokens=12, effort="high")
    confidences = [candidate.confidence for candidate in result.candidates]
    assert len(set(confidences)) > 1
    assert confidences == sorted(confidences, reverse=True)


def test_single_candidate_has_no_fit(engine):
    engine.forget_context()
    result = engine.fill(PREFIX_TEXT, SUFFIX_TEXT, canvas_tokens=12, effort="low")
    assert len(result.candidates) == 1
    assert result.candidates[0].fit is None


class TwoCandidates:
    """An engine whose ranking puts the less confident candidate first."""

    kind = "test"

    def fill(self, prefix, suffix, *, canvas_tokens, effort, should_stop=None):
        ranked = [Candidate(text="first_choice()", confidence=0.2, finished=True, canvas_tokens=8, fit=-1.0),
                  Candidate(text="more_confident()", confidence=0.9, finished=True, canvas_tokens=8, fit=-3.0)]
        return FillResult(ranked, 1, [8])


def complete_with(engine) -> object:
    pipeline = CompletionPipeline(engine)
    try:
        return pipeline.complete(CompletionRequest(prefix="value = ", suffix="\n", language="python"))
    finally:
        pipeline.close()


def test_pipeline_keeps_engine_ranking():
    result = complete_with(TwoCandidates())
    assert result.text == "first_choice()"
    assert [info.fit for info in result.candidates] == [-1.0, -3.0]


def test_syntax_errors_outrank_engine_order():
    class Broken(TwoCandidates):
        def fill(self, prefix, suffix, **kwargs):
            result = super().fill(prefix, suffix, **kwargs)
            result.candidates[0].text = "first_choice(("
            return result

    assert complete_with(Broken()).text == "more_confident()"
