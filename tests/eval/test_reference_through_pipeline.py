"""The pipeline's post-processing must not break a correct middle.

A scripted engine returns each task's reference middle; the pipeline then cuts
the window, runs every filter and ranks, exactly as for a model. Whatever the
pipeline changes must still pass the task's tests, or no model could score there.
"""

import os
from pathlib import Path

import pytest

from fim_server.engine.fake import FakeEngine
from fim_server.evaluation import DEFAULT_DATA, load_suite, subsample
from fim_server.evaluation.sandbox import SandboxLimits, run_program
from fim_server.pipeline import CompletionPipeline, CompletionRequest

SHARED_DATA = Path(os.environ.get("FIM_SERVER_EVAL_DATA", DEFAULT_DATA))


def pass_count(tasks) -> int:
    middles = {}
    pipeline = CompletionPipeline(FakeEngine(lambda prefix, suffix: middles["current"], steps=1))
    passed = 0
    for task in tasks:
        middles["current"] = task.reference
        request = CompletionRequest(prefix=task.prefix, suffix=task.suffix, language=task.language, mode=task.mode)
        text = pipeline.complete(request).text
        passed += run_program(task.program(text), SandboxLimits(timeout_s=10.0)).passed
    pipeline.close()
    return passed


def test_tiny_single_line_references_survive(tiny_data):
    tasks = [task for task in load_suite("humaneval-single", tiny_data) if task.reference.count("\n") == 1]
    assert len(tasks) == 2
    assert pass_count(tasks) == len(tasks)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="benchmark data folder not present")
def test_public_single_line_references_survive():
    tasks = subsample(load_suite("humaneval-single", SHARED_DATA), 20, seed=1)
    assert pass_count(tasks) == len(tasks)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="benchmark data folder not present")
def test_public_multi_line_references_mostly_survive():
    # Long references lose lines to the 20-line limit, and a few close more blocks
    # than the filters allow, so not every one survives.
    tasks = subsample(load_suite("humaneval-multi", SHARED_DATA), 20, seed=1)
    assert pass_count(tasks) >= 12
