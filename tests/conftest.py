import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUNDLED_MODEL = REPO / "models" / "fim-diffusion-small"
SHARED_DATA = Path(os.environ.get("FIM_SERVER_EVAL_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def bundled_model_path() -> Path:
    if not (BUNDLED_MODEL / "config.json").exists():
        pytest.fail(f"bundled model missing at {BUNDLED_MODEL}; it is part of the repository")
    return BUNDLED_MODEL


@pytest.fixture(scope="session")
def engine(bundled_model_path):
    from fim_server.engine.engine import DiffusionEngine

    return DiffusionEngine(bundled_model_path, dtype="float32")
