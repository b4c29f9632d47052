"""The batched engine: same greedy results as one-at-a-time fills, cancellation, deadlines, overload."""

import concurrent.futures
import threading
import time

import pytest
import torch

from fim_server.engine.batch_tensors import canvas_layout, new_canvas_state, pad_context_caches, stack_canvases
from fim_server.engine.batching import BatchedEngine, DeadlineExceeded, FillControl, Overloaded
from fim_server.engine.engine import DiffusionEngine
from fim_server.engine.sampler import FillCancelled
from fim_server.model import SLOT_PAD

CASES = [
    ("def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n", 8, "low"),
    ("import os\n", "", 16, "medium"),
    ("for item in items:\n    ", "\n", 6, "high"),
    ("", "", 4, "instant"),
    ("class Point:\n    def __init__(self, x, y):\n        self.x = x\n", "        self.y = y\n", 12, "low"),
]


def texts(result) -> list[str]:
    return [candidate.text for candidate in result.candidates]


@pytest.fixture(scope="module")
def engines(random_model_path):
    reference = DiffusionEngine(random_model_path, dtype="float32", threads=1)
    batched = BatchedEngine(DiffusionEngine(random_model_path, dtype="float32", threads=1), max_batch_rows=16)
    yield reference, batched
    batched.close()


def test_concurrent_fills_equal_single_fills(engines, no_time_budgets):
    reference, batched = engines
    futures = [batched.submit(p, s, canvas_tokens=c, effort=e) for p, s, c, e in CASES]
    for (prefix, suffix, canvas, effort), future in zip(CASES, futures):
        alone = reference.fill(prefix, suffix, canvas_tokens=canvas, effort=effort)
        together = future.result(timeout=120)
        assert texts(together) == texts(alone), (prefix, effort)
        fits = [(candidate.fit, other.fit) for candidate, other in zip(together.candidates, alone.candidates)]
        assert all((batched_fit is None) == (effort in ("instant", "low")) for batched_fit, _ in fits)
        assert all(a is None and b is None or a == pytest.approx(b, abs=1e-4) for a, b in fits), fits
        assert together.steps == alone.steps
        assert together.tokens_per_step == alone.tokens_per_step
    assert max(batched.stats.requests_per_step) > 1, "the requests never shared a step"


def test_padded_step_logits_match_single_step_in_bfloat16(random_model_path):
    """One batched step against padded contexts equals each request's own step, up to bf16 noise."""
    engine = DiffusionEngine(random_model_path, dtype="bfloat16", threads=1)
    config = engine.config
    inputs = [("def add(a, b):\n    return ", "\n"), ("x", "y = 2\nprint(y)\n"), ("", "")]
    caches, states, prefix_lengths = [], [], []
    with torch.inference_mode():
        for prefix, suffix in inputs:
            prefix_ids, suffix_ids = engine.encode_prefix(prefix), engine.encode_suffix(suffix)
            engine.forget_context()
            caches.append(engine.context_cache(prefix_ids, suffix_ids)[0])
            prefix_lengths.append(len(prefix_ids))
            states.append(new_canvas_state([5 + 3 * len(states)], config.mask_token_id, config.pad_token_id))
        width = max(state.tokens.shape[1] for state in states)
        positions, segments = canvas_layout(prefix_lengths, states, width)
        batch_cache = pad_context_caches(caches, [1] * len(states))
        tokens = stack_canvases(states, width, config.pad_token_id)
        batched = engine.model.score_canvas(batch_cache, tokens, positions, segments).float()
        for row, (cache, state, prefix_length) in enumerate(zip(caches, states, prefix_lengths)):
            own_width = state.tokens.shape[1]
            alone = engine.model.score_canvas(cache, state.tokens, (prefix_length + torch.arange(own_width))[None])
            torch.testing.assert_close(batched[row, :own_width], alone[0].float(), atol=0.05, rtol=0.02)


def test_cancelled_request_leaves_and_others_finish(engines):
    reference, batched = engines
    stop = threading.Event()
    doomed = batched.submit("while True:\n    ", "\n", canvas_tokens=64, effort="high", should_stop=stop.is_set)
    survivor = batched.submit("import os\n", "", canvas_tokens=16, effort="medium")
    time.sleep(0.05)
    stop.set()
    with pytest.raises(FillCancelled):
        doomed.result(timeout=120)
    alone = reference.fill("import os\n", "", canvas_tokens=16, effort="medium")
    assert texts(survivor.result(timeout=120)) == texts(alone)


def test_deadline_fails_the_request(engines):
    _, batched = engines
    control = FillControl(deadline=time.monotonic() + 0.01)
    with pytest.raises(DeadlineExceeded):
        batched.fill("while True:\n    ", "\n", canvas_tokens=64, effort="high", should_stop=control)
    assert batched.stats.outcomes["deadline_exceeded"] >= 1


def test_full_queue_rejects_with_overloaded(random_model_path):
    engine = BatchedEngine(DiffusionEngine(random_model_path, dtype="float32", threads=1),
                           max_batch_rows=1, max_queue=1)
    stop = threading.Event()
    try:
        running = engine.submit("a", "", canvas_tokens=64, effort="high", should_stop=stop.is_set)
        queued = None
        for _ in range(200):  # wait until the first request occupies the only row
            if engine.active_requests == 1:
                break
            time.sleep(0.01)
        queued = engine.submit("b", "", canvas_tokens=4, effort="low", should_stop=stop.is_set)
        with pytest.raises(Overloaded, match="1 requests queued"):
            engine.submit("c", "", canvas_tokens=4, effort="low")
    finally:
        stop.set()
        for future in (running, queued):
            if future is not None:
                with pytest.raises(FillCancelled):
                    future.result(timeout=120)
        engine.close()


def test_without_batching_requests_run_alone(random_model_path):
    engine = BatchedEngine(DiffusionEngine(random_model_path, dtype="float32", threads=1), batching=False)
    try:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            results = list(pool.map(lambda case: engine.fill(case[0], case[1], canvas_tokens=case[2],
                                                             effort=case[3]), CASES[:3]))
        assert all(result.candidates for result in results)
        assert set(engine.stats.requests_per_step) == {1}
    finally:
        engine.close()


def test_bundled_model_batched_equals_single(bundled_model_snapshot, no_time_budgets):
    """The trained model in models/ gives the same greedy completions batched and alone (float32)."""
    reference = DiffusionEngine(bundled_model_snapshot, dtype="float32", threads=1)
    batched = BatchedEngine(DiffusionEngine(bundled_model_snapshot, dtype="float32", threads=1))
    try:
        futures = [batched.submit(p, s, canvas_tokens=c, effort=e) for p, s, c, e in CASES]
        for (prefix, suffix, canvas, effort), future in zip(CASES, futures):
            alone = reference.fill(prefix, suffix, canvas_tokens=canvas, effort=effort)
            assert texts(future.result(timeout=300)) == texts(alone), (prefix, effort)
    finally:
        batched.close()


def test_step_probabilities_match_single_fill(engines, monkeypatch):
    """Every step's token probabilities agree (float32), not only the argmax that picks the tokens."""
    import fim_server.engine.sampler as sampler

    reference, batched = engines
    recorded = []
    original = sampler.masked_probabilities

    def record(*args, **kwargs):
        probs = original(*args, **kwargs)
        recorded.append(probs.clone())
        return probs

    # Both paths commit through sampler.denoise_step, which looks masked_probabilities up in the sampler module.
    monkeypatch.setattr(sampler, "masked_probabilities", record)
    prefix, suffix = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"
    reference.fill(prefix, suffix, canvas_tokens=16, effort="medium")
    alone, recorded[:] = list(recorded), []
    batched.fill(prefix, suffix, canvas_tokens=16, effort="medium")
    assert len(recorded) == len(alone)
    for step, (together, single) in enumerate(zip(recorded, alone)):
        torch.testing.assert_close(together, single, atol=1e-4, rtol=1e-4, msg=f"step {step}")


def test_contexts_encoded_together_match_one_by_one(random_model_path):
    from fim_server.engine.batch_tensors import encode_contexts

    engine = DiffusionEngine(random_model_path, dtype="float32", threads=1)
    contexts = [(engine.encode_prefix(prefix), engine.encode_suffix(suffix)) for prefix, suffix, _, _ in CASES]
    with torch.inference_mode():
        together = encode_contexts(engine.model, contexts)
        for (prefix_ids, suffix_ids), cache in zip(contexts, together):
            engine.forget_context()
            alone, state = engine.context_cache(prefix_ids, suffix_ids)
            assert state == "miss"
            assert cache.length == alone.length
            assert torch.equal(cache.segment_ids, alone.segment_ids)
            assert torch.equal(cache.position_ids, alone.position_ids)
            # Slot 0 is slot padding: no query ever sees its key, and its own hidden state differs by design.
            assert cache.segment_ids[0, 0].item() == SLOT_PAD
            for mine, theirs in zip(cache.layers, alone.layers):
                torch.testing.assert_close(mine.key[:, :, 1:], theirs.key[:, :, 1:], atol=1e-5, rtol=1e-5)
                torch.testing.assert_close(mine.value[:, :, 1:], theirs.value[:, :, 1:], atol=1e-5, rtol=1e-5)


def test_budget_batched_matches_single(engines, monkeypatch):
    """A spent budget makes the second step final on both paths; no mask is left in the text."""
    from dataclasses import replace

    from fim_server.engine.types import EFFORTS

    monkeypatch.setitem(EFFORTS, "high", replace(EFFORTS["high"], budget_ms=0.001))
    reference, batched = engines
    prefix, suffix = "def total(items):\n    result = 0\n    for item in items:\n        ", "\n    return result\n"
    alone = reference.fill(prefix, suffix, canvas_tokens=24, effort="high")
    together = batched.fill(prefix, suffix, canvas_tokens=24, effort="high")
    for result in (alone, together):
        assert result.budget_hit
        assert result.steps == 2
    assert texts(together) == texts(alone)
    assert together.tokens_per_step == alone.tokens_per_step
