"""Model facts for Ollama's /api/show and /api/tags, read from a model folder's files."""

import hashlib
import json
import os
import time

import torch
from safetensors.torch import save_file

from fim_server.http.model_facts import parameter_size, read_model_facts


def write_model(folder, config: dict, tensors: dict) -> None:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    save_file(tensors, str(folder / "model.safetensors"))


def test_facts_from_header_and_config(tmp_path):
    folder = tmp_path / "masked"
    write_model(folder, {"model_type": "modernbert", "max_position_embeddings": 512, "hidden_size": 8},
                {"embed": torch.zeros(10, 8), "head": torch.zeros(8)})
    facts = read_model_facts(folder, "float32")
    assert facts.parameter_count == 88
    assert facts.model_info["modernbert.context_length"] == 512
    assert facts.model_info["modernbert.embedding_length"] == 8
    assert facts.details()["family"] == "modernbert"
    assert facts.details()["quantization_level"] == "F32"
    assert facts.size_bytes == (folder / "model.safetensors").stat().st_size
    assert len(facts.digest) == 64


def test_sharded_weights_are_summed(tmp_path):
    folder = tmp_path / "sharded"
    write_model(folder, {"model_type": "llada"}, {"a": torch.zeros(3, 4)})
    save_file({"b": torch.zeros(5)}, str(folder / "model-00002-of-00002.safetensors"))
    facts = read_model_facts(folder, None)
    assert facts.parameter_count == 17
    assert facts.details()["quantization_level"] == ""


def test_broken_folder_gives_empty_facts(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"\x05\x00")
    facts = read_model_facts(folder, "bfloat16")
    assert facts.parameter_count is None
    assert facts.digest == ""
    assert facts.details()["quantization_level"] == "BF16"
    assert read_model_facts(tmp_path / "missing", None).model_info == {}


def test_parameter_size_format():
    assert parameter_size(6_771_000) == "6.8M"
    assert parameter_size(1_540_000_000) == "1.5B"
    assert parameter_size(None) == ""


def test_pytorch_weights_are_counted(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "max_position_embeddings": 64}))
    torch.save({"embed": torch.zeros(6, 4), "bias": torch.zeros(4)}, folder / "pytorch_model.bin")
    facts = read_model_facts(folder, "float32")
    assert facts.parameter_count == 28
    assert facts.details()["format"] == "pytorch"
    assert facts.size_bytes == (folder / "pytorch_model.bin").stat().st_size
    assert facts.digest == hashlib.sha256((folder / "pytorch_model.bin").read_bytes()).hexdigest()


def test_folder_without_weights_has_no_digest(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    facts = read_model_facts(folder, None)
    assert facts.digest == ""
    assert facts.size_bytes == 0


def test_digest_cached_until_change(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "cached"
    write_model(folder, {"model_type": "llada"}, {"a": torch.zeros(3, 4)})
    weights = folder / "model.safetensors"
    first = read_model_facts(folder, None).digest
    assert first == hashlib.sha256(weights.read_bytes()).hexdigest()
    cache = tmp_path / "cache" / "fim-server" / "weight-digests.json"
    [key] = json.loads(cache.read_text())

    # Unchanged files: the digest comes from the cache (a planted value proves it).
    cache.write_text(json.dumps({key: "f" * 64}))
    assert read_model_facts(folder, None).digest == "f" * 64

    # Bytes rewritten in place with the modification time set back: the change time still moves.
    stat = weights.stat()
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    time.sleep(0.01)
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert read_model_facts(folder, None).digest == hashlib.sha256(bytes(data)).hexdigest() != first


def test_unwritable_digest_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    folder = tmp_path / "uncached"
    write_model(folder, {"model_type": "llada"}, {"a": torch.ones(2)})
    expected = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert read_model_facts(folder, None).digest == expected
