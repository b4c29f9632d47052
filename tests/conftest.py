import json
import os
import tempfile
from pathlib import Path

# One torch thread, as the server runs by default: on a busy 2-core machine two threads per
# process oversubscribe the cores and make model tests many times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Caches that the product keeps (weight digests) go to a folder of the test run, never the user's.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="fim-server-tests-cache-")

import pytest

REPO = Path(__file__).resolve().parent.parent
BUNDLED_MODEL = REPO / "models" / "fim-diffusion-small"
SHARED_DATA = Path(os.environ.get("FIM_SERVER_EVAL_DATA", REPO.parent / "shared" / "data"))

SOURCE_SNIPPETS = [
    "def square(x):\n    return x * x\n",
    "while queue:\n    node = queue.pop()\n    visit(node)\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n",
    "with open(path) as handle:\n    data = handle.read()\n",
    "let count = 0;\nfor (const word of words) {\n  count += word.length;\n}\n",
] * 16


@pytest.fixture(scope="session")
def bundled_model_path() -> Path:
    if not (BUNDLED_MODEL / "config.json").exists():
        pytest.fail(f"bundled model missing at {BUNDLED_MODEL}; it is part of the repository")
    return BUNDLED_MODEL


@pytest.fixture(scope="session")
def engine(bundled_model_path):
    from fim_server.engine.engine import DiffusionEngine

    return DiffusionEngine(bundled_model_path, dtype="float32")


@pytest.fixture(scope="session")
def source_snippets() -> list[str]:
    return SOURCE_SNIPPETS


@pytest.fixture()
def tiny_corpus(tmp_path, source_snippets) -> Path:
    """A corpus folder (train and held-out splits) of a few short source files."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("train", "valid"):
        with open(folder / f"{name}.jsonl", "w") as handle:
            for text in source_snippets[:10]:
                handle.write(json.dumps({"text": text * 3}) + "\n")
    return folder


@pytest.fixture()
def train_tiny():
    """Run ``fim-server train`` on a tiny model: ``train_tiny(corpus, run, *extra_args)`` returns its exit code."""
    from fim_server.training import train

    def run_training(corpus: Path, run: Path, *extra: str) -> int:
        return train.main(["--corpus", str(corpus), "--run", str(run), "--vocab-size", "300", "--hidden-size", "32",
                           "--layers", "1", "--heads", "2", "--batch-size", "4", "--warmup", "1",
                           "--eval-every", "2", "--threads", "1", *extra])

    return run_training


@pytest.fixture()
def no_time_budgets(monkeypatch):
    """Effort profiles without their denoising time budgets, for tests that compare two runs' texts.

    A budget ends denoising after a wall-clock time, so on a loaded machine two runs of
    the same fill may stop at different steps.
    """
    from dataclasses import replace

    from fim_server.engine.types import EFFORTS

    for name, profile in list(EFFORTS.items()):
        monkeypatch.setitem(EFFORTS, name, replace(profile, budget_ms=None))
