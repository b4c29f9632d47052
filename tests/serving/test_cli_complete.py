"""`fim-server complete FILE:LINE:COL` on real files with the bundled model."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from fim_server.cli import main, show_in_place

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, FIM_SERVER_DTYPE="float32")
    return subprocess.run([sys.executable, "-m", "fim_server.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_complete_stdlib_file_as_json():
    # bdb.py is in the corpus's held-out split, so the model never trained on it.
    path = Path(sysconfig.get_paths()["stdlib"]) / "bdb.py"
    lines = path.read_text().split("\n")
    start = next(i for i, text in enumerate(lines) if text.strip().startswith("def set_break"))
    index = next(i for i in range(start, len(lines)) if " = " in lines[i])
    line, column = index + 1, len(lines[index]) + 1  # 1-based, at the end of an assignment line
    completed = run_cli("complete", f"{path}:{line}:{column}", "--json")
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["language"] == "python"
    assert result["start"] == {"line": line - 1, "character": column - 1}
    assert result["model_steps"] >= 1
    assert set(result["timings_ms"]) >= {"context", "fill", "postprocess", "rank"}


def test_quick_start_command():
    completed = run_cli("complete", "docs/quickstart_example.py:19:24")
    assert completed.returncode == 0, completed.stderr
    assert "   19 |         counts[word] = \u00ab" in completed.stdout
    assert "mode line" in completed.stderr


def test_plain_output_reports_result(tmp_path, capsys, monkeypatch, bundled_model_path):
    monkeypatch.setenv("FIM_SERVER_DTYPE", "float32")
    source = tmp_path / "greet.py"
    source.write_text("def greet(name):\n    return \n\n\nprint(greet('Ada'))\n")
    assert main(["complete", f"{source}:2:12", "--mode", "line"]) == 0
    captured = capsys.readouterr()
    shown_in_place = "    1 | def greet(name):" in captured.out and "    2 |     return \u00ab" in captured.out
    explained = captured.out.startswith("no completion: ")
    assert shown_in_place or explained, captured.out
    assert "mode line (requested), effort low" in captured.err


def test_show_in_place_marks_completion():
    text = "def f(x):\n    return \n\nprint(f(1))\n"
    shown = show_in_place(text, 1, 11, "x + 1\n    # done", context_lines=1)
    assert shown.split("\n") == [
        "    1 | def f(x):",
        "    2 |     return \u00abx + 1",
        "    + |     # done\u00bb",
        "    3 | ",
    ]


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("{source}:9:1", "invalid line 9"),
        ("{source}:1:40", "invalid column 40"),
        ("{source}:0:1", "start at 1"),
        ("{source}", "expected FILE:LINE:COL"),
        ("{folder}/missing.py:1:1", "missing.py not found"),
        ("{folder}:1:1", "is a folder; give a file"),
    ],
)
def test_invalid_locations_are_reported(tmp_path, capsys, location, message):
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    assert main(["complete", location.format(source=source, folder=tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_binary_file_is_rejected(tmp_path, capsys):
    blob = tmp_path / "blob.py"
    blob.write_bytes(b"\x00\x01\x02binary")
    assert main(["complete", f"{blob}:1:1"]) == 2
    assert "binary" in capsys.readouterr().err
