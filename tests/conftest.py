import os
from pathlib import Path

# One torch thread, as the server runs by default: on a busy 2-core machine two threads per
# process oversubscribe the cores and make model tests many times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

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
