"""The engine's context cache while a user types: extended, truncated, never stale."""

from __future__ import annotations

import pytest

from fim_server.engine.engine import DiffusionEngine

SOURCE = "".join(f"def helper_{i}(value):\n    return value * {i} + offset\n\n" for i in range(80))


@pytest.fixture()
def fresh(engine: DiffusionEngine) -> DiffusionEngine:
    engine.forget_context()
    return engine


def fill(engine: DiffusionEngine, prefix: str, suffix: str = "\n"):
    return engine.fill(prefix, suffix, canvas_tokens=8, effort="instant")


def test_typing_appends_to_cache(fresh):
    prefix = SOURCE[:400] + "def total(items):\n    "
    assert fill(fresh, prefix).cache == "miss"
    typed = fill(fresh, prefix + "return")
    assert typed.cache == "append"
    fresh.forget_context()
    cold = fill(fresh, prefix + "return")
    assert cold.cache == "miss"
    assert [c.text for c in typed.candidates] == [c.text for c in cold.candidates]


def test_same_context_is_a_hit(fresh):
    prefix = SOURCE[:300]
    fill(fresh, prefix)
    assert fill(fresh, prefix).cache == "hit"


def test_backspace_truncates_the_cache(fresh):
    prefix = SOURCE[:500] + "result = compute_"
    fill(fresh, prefix)
    shorter = fill(fresh, prefix[:-3])
    assert shorter.cache == "append"  # the common part is kept, the rest re-encoded
    fresh.forget_context()
    assert [c.text for c in fill(fresh, prefix[:-3]).candidates] == [c.text for c in shorter.candidates]


def test_other_suffix_or_document_never_reuses_the_cache(fresh):
    prefix = SOURCE[:300]
    fill(fresh, prefix, "\nfirst = 1\n")
    assert fill(fresh, prefix, "\nsecond = 2\n").cache == "miss"
    assert fill(fresh, "import os\n" + prefix, "\nsecond = 2\n").cache == "miss"


def test_long_file_typing_keeps_cache(fresh):
    """The prefix is longer than the model's window, so the window start must not slide per keystroke."""
    prefix = SOURCE[:6000]
    assert len(prefix) > fresh.config.max_prefix_tokens * 8  # beyond the tokenized character window
    fill(fresh, prefix)
    states = []
    for typed in "def ":
        prefix += typed
        states.append(fill(fresh, prefix).cache)
    assert states.count("append") >= 3, states
