"""Neovim plugin and server lifecycle: missing or failing server, crash restart, settings."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from nvim_session import SERVER_COMMAND, engine_script

RULES = [{"after": "def add(a, b):\n    ", "text": "return a + b"}]
ERROR = 4  # vim.log.levels.ERROR
WARN = 3


def messages(session, level: int) -> list[str]:
    return [item["message"] for item in session.notifications() if item["level"] == level]


def test_missing_command_reports_error(start_nvim, tmp_path):
    session = start_nvim()
    session.setup(cmd=[str(tmp_path / "no-such-fim-server"), "lsp"])
    errors = messages(session, ERROR)
    assert len(errors) == 1
    assert "no-such-fim-server" in errors[0]
    assert "was not found" in errors[0]
    assert "pip install fim-server" in errors[0]
    assert session.status() == "fim error"
    session.open(tmp_path / "example.py", "x = 1\n")
    assert session.lua("return #vim.lsp.get_clients({ name = 'fim_server' })") == 0


def test_server_failing_at_start_is_reported(start_nvim, tmp_path):
    script = tmp_path / "broken-server"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stderr.write('error: invalid model path\\n')\nsys.exit(2)\n")
    script.chmod(0o755)
    session = start_nvim()
    session.setup(cmd=[str(script), "lsp"])
    session.open(tmp_path / "example.py", "")
    failure = session.wait_for(lambda: [m for m in messages(session, ERROR) if "failed to start" in m],
                               "the start failure message")
    assert "exit code 2" in failure[0]
    assert "invalid model path" in failure[0]
    assert session.status() == "fim error"
    assert not [m for m in messages(session, WARN) if "restarting" in m]


def test_crashed_server_restarts(start_nvim, tmp_path):
    session = start_nvim(engine_script(rules=RULES, text=""))
    session.setup()
    session.open(tmp_path / "example.py", "")
    session.wait_attached()
    [pid] = session.server_pids()
    os.kill(pid, signal.SIGKILL)
    session.wait_for(lambda: [m for m in messages(session, WARN) if "restarting it (1 of 4)" in m],
                     "the restart message")
    session.wait_for(lambda: session.server_pids() and session.server_pids() != [pid], "a new server process")
    session.wait_attached()
    session.feed("idef add(a, b):<CR>")
    assert session.wait_ghost() == ["return a + b"]


def test_invalid_option_and_effort_change(start_nvim, tmp_path):
    session = start_nvim(engine_script(rules=RULES, text=""))
    session.setup(effort="extreme", typing_effort="medium", keymaps={"accept": "<M-a>"})
    [warning] = messages(session, WARN)
    assert "invalid effort" in warning
    assert "extreme" in warning
    assert session.lua("return require('fim_server').options.effort") == "low"

    session.open(tmp_path / "example.py", "")
    session.wait_attached()
    session.feed("idef add(a, b):<CR>")
    session.wait_ghost()
    # Requests sent while typing run at typing_effort, so no model call used the effort "low".
    calls_by_effort = session.server_stats()["modelCallsByEffort"]
    assert set(calls_by_effort) == {"medium"}
    assert calls_by_effort["medium"] >= 1
    session.feed("<M-a>")
    session.wait_for(lambda: session.lines()[1] == "    return a + b", "the accepted text")

    session.nvim.command("FimServer effort high")
    log_path = session.lua("return vim.lsp.get_log_path()")

    def applied_high() -> bool:
        text = open(log_path).read()
        return "workspace/didChangeConfiguration applied" in text and "effort='high'" in text

    session.wait_for(applied_high, "the server to apply effort high")
    assert session.lua("return vim.lsp.get_clients({ name = 'fim_server' })[1].settings.fimServer.effort") == "high"

    session.nvim.command("FimServer typing_effort low")
    session.wait_for(lambda: "typing_effort='low'" in open(log_path).read(), "the server to apply typing_effort low")
    assert session.lua("return vim.lsp.get_clients({ name = 'fim_server' })[1].settings.fimServer.typingEffort") == "low"


def test_confidence_floor_hides_ghost_text(start_nvim, tmp_path):
    # The scripted engine's candidates have a confidence of 0.6.
    session = start_nvim(engine_script(rules=RULES, text="", confidence=0.6))
    session.setup(min_confidence=0.7)
    session.open(tmp_path / "example.py", "")
    session.wait_attached()
    session.feed("idef add(a, b):<CR>")
    session.wait_for(lambda: session.lines() == ["def add(a, b):", "    "], "the typed text")
    session.wait_for(lambda: session.server_stats()["modelCalls"] >= 1, "a model call")
    assert session.ghost() == []
    session.setup(min_confidence=0.5)
    session.feed("x<BS>")
    assert session.wait_ghost() == ["return a + b"]


def test_daemon_engine_options(start_nvim, tmp_path):
    # A short folder, because pytest's tmp_path can exceed the 107-byte limit of Unix socket paths.
    socket = Path(tempfile.mkdtemp(prefix="fimd-nvim-", dir="/tmp")) / "daemon.sock"
    session = start_nvim(engine_script(rules=RULES, text=""))
    session.setup(engine="daemon", daemon_socket=str(socket), daemon_idle_timeout=600)
    try:
        session.open(tmp_path / "example.py", "")
        session.wait_attached()
        session.feed("idef add(a, b):<CR>")
        assert session.wait_ghost() == ["return a + b"]
        stats = session.server_stats()
        assert stats["engine"] == "daemon"
        assert stats["daemon"]["socket"] == str(socket)
        assert socket.is_socket()
        assert "idle timeout 600 s)" in socket.with_suffix(".log").read_text(), "the started daemon's idle timeout"
    finally:
        # The server started the daemon, and the daemon outlives it until its idle timeout.
        subprocess.run([SERVER_COMMAND, "serve", "--stop", "--socket", str(socket)], capture_output=True, timeout=60)
        shutil.rmtree(socket.parent, ignore_errors=True)


def test_invalid_engine_options(start_nvim):
    session = start_nvim()
    session.setup(engine="remote", daemon_socket="daemon.sock", typing_effort="fast", daemon_idle_timeout=-1,
                  min_confidence=2, cmd=["true"])
    warnings = messages(session, WARN)
    assert any("invalid min_confidence 2" in warning for warning in warnings), warnings
    assert session.lua("return require('fim_server').options.min_confidence") is None
    sent = "return require('fim_server.config').server_settings(require('fim_server').options).minConfidence == vim.NIL"
    assert session.lua(sent) is True, "an unset floor is sent as null, the server's own setting"
    assert any("invalid engine" in warning and "remote" in warning for warning in warnings), warnings
    assert any("invalid daemon_socket" in warning for warning in warnings), warnings
    assert any("invalid daemon_idle_timeout -1" in warning for warning in warnings), warnings
    assert any("invalid typing_effort" in warning and "fast" in warning for warning in warnings), warnings
    assert session.lua("return require('fim_server').options.engine") is None
    assert session.lua("return require('fim_server').options.daemon_socket") is None
    assert session.lua("return require('fim_server').options.daemon_idle_timeout") is None
    assert session.lua("return require('fim_server').options.typing_effort") == "instant"


def test_second_setup_replaces_key_mappings(start_nvim):
    session = start_nvim()
    session.setup(cmd=["true"])
    assert session.lua("return vim.fn.maparg('<M-y>', 'i')") != ""
    session.setup(cmd=["true"], keymaps={"accept": "<M-a>", "dismiss": False})
    assert session.lua("return vim.fn.maparg('<M-y>', 'i')") == ""
    assert session.lua("return vim.fn.maparg('<M-e>', 'i')") == ""
    assert session.lua("return vim.fn.maparg('<M-a>', 'i')") != ""
    assert session.lua("return vim.fn.maparg('<M-t>', 'i')") != ""
