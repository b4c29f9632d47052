""":checkhealth fim_server against a running server and against a missing one."""

from __future__ import annotations

from nvim_session import engine_script


def health_report(session) -> str:
    session.nvim.command("checkhealth fim_server")
    return "\n".join(session.nvim.current.buffer[:])


def test_health_with_running_server(start_nvim, tmp_path):
    session = start_nvim(engine_script(text=""))
    session.setup()
    session.open(tmp_path / "example.py", "")
    session.wait_attached()
    report = health_report(session)
    assert "OK setup() was called" in report
    assert "OK server command: " in report
    assert 'OK the server offers the "lsp" subcommand' in report
    assert "OK the server provides textDocument/inlineCompletion" in report
    assert "running: fim-server " in report
    assert "OK keymap accept: <M-y>" in report
    assert "ERROR" not in report


def test_health_with_missing_server(start_nvim, tmp_path):
    session = start_nvim()
    session.setup(cmd=[str(tmp_path / "missing-fim-server"), "lsp"])
    report = health_report(session)
    assert "ERROR server command" in report
    assert "missing-fim-server" in report
    assert "pip install fim-server" in report


def test_health_before_setup(start_nvim):
    session = start_nvim()
    report = health_report(session)
    assert "ERROR setup() was not called" in report


def test_health_reports_taken_keymap(start_nvim, tmp_path):
    session = start_nvim()
    session.setup(cmd=[str(tmp_path / "missing-fim-server"), "lsp"])
    session.nvim.command("inoremap <M-w> <Cmd>echo 'another plugin'<CR>")
    report = health_report(session)
    assert "keymap accept_word (<M-w>) is taken by another mapping" in report
