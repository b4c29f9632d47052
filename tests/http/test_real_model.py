"""The HTTP API on the bundled model: the batched server returns what the in-process pipeline returns."""

import hashlib
import shutil
from pathlib import Path

import httpx
import pytest
from safetensors.torch import load_file

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


def test_ollama_show_and_tags_describe_bundled_model(tmp_path):
    if not (BUNDLED / "config.json").exists():
        pytest.skip(f"bundled model missing at {BUNDLED}")
    snapshot = Path(shutil.copytree(BUNDLED, tmp_path / "model"))
    weights = snapshot / "model.safetensors"
    engine = BatchedEngine(DiffusionEngine(snapshot, dtype="bfloat16", threads=1))
    try:
        with running_api(engine, model_path=str(snapshot), model_dtype="bfloat16") as (url, _service):
            show_reply = httpx.post(url + "/api/show", json={"model": "test-model"}, timeout=60).json()
            tag_models = httpx.get(url + "/api/tags", timeout=60).json()["models"]
    finally:
        engine.close()
    parameters = sum(tensor.numel() for tensor in load_file(weights).values())
    assert show_reply["details"]["parameter_size"] == f"{parameters / 1e6:.1f}M"
    assert show_reply["details"]["quantization_level"] == "BF16"
    assert show_reply["details"]["family"] == "fim-diffusion"
    assert show_reply["model_info"]["general.parameter_count"] == parameters
    assert show_reply["model_info"]["fim-diffusion.context_length"] == 192 + 64 + 64
    assert tag_models[0]["size"] == weights.stat().st_size
    assert tag_models[0]["digest"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert tag_models[0]["details"] == show_reply["details"]
