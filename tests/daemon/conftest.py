"""Fixtures for the batching engine and the daemon: a small random-weight model folder."""

from pathlib import Path

import pytest
import shutil

import torch

REPO_MODEL = Path(__file__).resolve().parents[2] / "models" / "fim-diffusion-small"

CODE_SAMPLES = [
    "def add(a, b):\n    return a + b\n",
    "for item in items:\n    print(item)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "import os\nimport sys\n\nif __name__ == '__main__':\n    sys.exit(main())\n",
    "const total = values.reduce((sum, v) => sum + v, 0);\n",
] * 20


def write_random_model(folder: Path, seed: int = 0, *, autoregressive: bool = False) -> Path:
    """Write a folder that load_engine loads: a trained byte-level tokenizer and random weights.

    The model is a diffusion model, or with ``autoregressive`` the autoregressive baseline.
    """
    from fim_server.model import (
        FimAutoregressiveConfig,
        FimAutoregressiveModel,
        FimDiffusionConfig,
        FimDiffusionModel,
    )
    from fim_server.model.tokenizer import save_tokenizer, train_tokenizer

    tokenizer = train_tokenizer(CODE_SAMPLES, vocab_size=320)
    save_tokenizer(tokenizer, folder)
    torch.manual_seed(seed)
    config_class, model_class = ((FimAutoregressiveConfig, FimAutoregressiveModel) if autoregressive
                                 else (FimDiffusionConfig, FimDiffusionModel))
    config = config_class(vocab_size=tokenizer.get_vocab_size(), hidden_size=64, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=128)
    model_class(config).save_pretrained(str(folder), safe_serialization=True)
    return folder


@pytest.fixture(scope="session")
def random_model_path(tmp_path_factory) -> Path:
    return write_random_model(tmp_path_factory.mktemp("random-model"))


@pytest.fixture(scope="session")
def autoregressive_random_model_path(tmp_path_factory) -> Path:
    return write_random_model(tmp_path_factory.mktemp("autoregressive-random-model"), autoregressive=True)


@pytest.fixture(scope="session")
def bundled_model_snapshot(tmp_path_factory) -> Path:
    """A copy of the bundled model, so that every engine in a test loads the same weights.

    The training run re-exports models/fim-diffusion-small while it improves; two engines loaded a few
    seconds apart could otherwise hold different checkpoints.
    """
    if not (REPO_MODEL / "config.json").exists():
        pytest.skip(f"bundled model missing at {REPO_MODEL}")
    return Path(shutil.copytree(REPO_MODEL, tmp_path_factory.mktemp("bundled") / "fim-diffusion-small"))
