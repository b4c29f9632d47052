"""The VS Code extension: type check, esbuild bundle, vsce package and its Node tests.

The Node tests run the extension's real LanguageClient against the real
`fim-server lsp`, with a hand-written `vscode` module standing in for the editor.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm not found: the VS Code client needs Node.js 20 and npm")
def test_vscode_extension_builds_and_passes():
    completed = subprocess.run(
        ["bash", str(REPO / "editor-clients" / "test.sh"), "vscode"],
        cwd=REPO, capture_output=True, text=True, timeout=1500,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert "# fail 0" in output, output[-4000:]
    assert (REPO / "editor-clients" / "vscode" / "dist" / "fim-server.vsix").is_file()
