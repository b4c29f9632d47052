"""Fixtures: a tiny random ModernBERT masked LM folder and its engine."""

from pathlib import Path

import pytest
from masked_lm_helpers import write_masked_lm


@pytest.fixture(scope="session")
def masked_lm_path(tmp_path_factory) -> Path:
    return write_masked_lm(tmp_path_factory.mktemp("hf-masked") / "model")


@pytest.fixture(scope="session")
def masked_lm_engine(masked_lm_path):
    from fim_server.engine.loading import load_engine

    return load_engine(masked_lm_path, dtype="float32", threads=1)
