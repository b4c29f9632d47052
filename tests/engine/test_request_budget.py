"""A request's own denoising time budget (llama.cpp's t_max_predict_ms) on top of the effort's."""

import pytest

from fim_server.engine.types import EFFORTS, FillControl, with_request_budget


def test_no_request_budget_keeps_profile():
    assert with_request_budget(EFFORTS["low"], None) is EFFORTS["low"]
    assert with_request_budget(EFFORTS["low"], FillControl()) is EFFORTS["low"]


def test_request_budget_added_to_low():
    profile = with_request_budget(EFFORTS["low"], FillControl(budget_ms=250))
    assert profile.budget_ms == 250.0
    assert profile.max_steps == EFFORTS["low"].max_steps


@pytest.mark.parametrize(("requested", "expected"), [(100, 100.0), (5000, 700.0)])
def test_tighter_budget_wins(requested, expected):
    assert with_request_budget(EFFORTS["high"], FillControl(budget_ms=requested)).budget_ms == expected


def test_engine_stops_at_request_budget(engine):
    prefix, suffix = "def total(items):\n    result = ", "\n    return result\n"
    full = engine.fill(prefix, suffix, canvas_tokens=16, effort="low")
    assert not full.budget_hit
    cut = engine.fill(prefix, suffix, canvas_tokens=16, effort="low", should_stop=FillControl(budget_ms=0.001))
    assert cut.budget_hit
    assert cut.steps == 2, "the first model call always runs, and the budget makes the next one final"
    assert cut.steps < full.steps
