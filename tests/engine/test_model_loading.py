"""Loading a model folder: damaged files give one clear error, and weights live in memory, not in the file."""

import shutil
import subprocess
import sys
import textwrap

import pytest

from fim_server.cli import main
from fim_server.engine.engine import DiffusionEngine
from fim_server.engine.types import ModelLoadError


@pytest.fixture
def model_copy(tmp_path, bundled_model_path):
    return shutil.copytree(bundled_model_path, tmp_path / "model")


def test_truncated_weights_name_folder_and_fix(model_copy):
    with open(model_copy / "model.safetensors", "r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(ModelLoadError, match=r"failed to load the weights in .*model: SafetensorError: .*export the folder"):
        DiffusionEngine(model_copy, dtype="float32")


def test_missing_tokenizer_is_named(model_copy):
    (model_copy / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError, match=r"is missing tokenizer\.json"):
        DiffusionEngine(model_copy)


def test_command_prints_one_line_error(model_copy, tmp_path, capsys):
    (model_copy / "model.safetensors").write_bytes(b"\x00" * 3)
    source = tmp_path / "example.py"
    source.write_text("value = \n")
    assert main(["complete", f"{source}:1:9", "--model", str(model_copy)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: failed to load the weights in ")
    assert "Traceback" not in error
    assert len(error.splitlines()) == 1


def test_serving_survives_weights_rewritten_in_place(model_copy):
    # Float32 tensors could point straight into a mapped file. Cutting that file kills the process
    # with SIGBUS, so the check runs in a child process.
    script = textwrap.dedent(f"""
        from fim_server.engine.engine import DiffusionEngine
        engine = DiffusionEngine({str(model_copy)!r}, dtype="float32", threads=1)
        before = engine.fill("def add(a, b):\\n    return ", "\\n", canvas_tokens=8, effort="low").candidates[0].text
        with open({str(model_copy / "model.safetensors")!r}, "r+b") as handle:
            handle.truncate(1000)
        after = engine.fill("def add(a, b):\\n    return ", "\\n", canvas_tokens=8, effort="low").candidates[0].text
        print("same" if before == after else "changed")
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == "same"
