"""The HTTP API on the bundled model: the batched server returns what the in-process pipeline returns."""

import shutil
from pathlib import Path

import httpx
import pytest

from http_helpers import running_api
from fim_server.engine.batching import BatchedEngine
from fim_server.engine.engine import DiffusionEngine
from fim_server.pipeline import CompletionPipeline, CompletionRequest

BUNDLED = Path(__file__).resolve().parents[2] / "models" / "fim-diffusion-small"
PREFIX = "def mean(values):\n    total = sum(values)\n    return "
SUFFIX = "\n\n\nprint(mean([1, 2, 3]))\n"


def test_infill_on_bundled_model_matches_pipeline(tmp_path):
    if not (BUNDLED / "config.json").exists():
        pytest.skip(f"bundled model missing at {BUNDLED}")
    # A copy, because the training run may re-export the folder between the two loads.
    snapshot = Path(shutil.copytree(BUNDLED, tmp_path / "model"))
    pipeline = CompletionPipeline(DiffusionEngine(snapshot, dtype="float32", threads=1))
    try:
        expected = pipeline.complete(CompletionRequest(prefix=PREFIX, suffix=SUFFIX, effort="low"))
    finally:
        pipeline.close()
    engine = BatchedEngine(DiffusionEngine(snapshot, dtype="float32", threads=1))
    try:
        with running_api(engine) as (url, _service):
            body = {"input_prefix": PREFIX, "input_suffix": SUFFIX, "n_predict": -1, "effort": "low"}
            data = httpx.post(url + "/infill", json=body, timeout=120).json()
    finally:
        engine.close()
    assert data["content"] == expected.text
    assert data["model_steps"] == expected.model_steps
    assert data["model_steps"] > 0
