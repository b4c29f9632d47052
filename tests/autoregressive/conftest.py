"""Fixtures for the autoregressive baseline: a small model folder with random weights."""

import json
import shutil
from pathlib import Path

import pytest
import torch



def write_autoregressive_model(folder: Path, tokenizer_folder: Path, seed: int = 0) -> Path:
    """Write a small AR model folder with random weights and the bundled model's tokenizer."""
    from fim_server.model import FimAutoregressiveConfig, FimAutoregressiveModel

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer_folder / name, folder / name)
    vocab_size = json.loads((tokenizer_folder / "config.json").read_text())["vocab_size"]
    torch.manual_seed(seed)
    config = FimAutoregressiveConfig(vocab_size=vocab_size, hidden_size=64, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=128)
    FimAutoregressiveModel(config).save_pretrained(str(folder), safe_serialization=True)
    return folder


@pytest.fixture(scope="session")
def autoregressive_model_path(tmp_path_factory, bundled_model_path) -> Path:
    return write_autoregressive_model(tmp_path_factory.mktemp("autoregressive-model"), bundled_model_path)
