"""A client that finds a daemon on its socket uses it only when the model folder and dtype match its settings."""

import logging
from contextlib import contextmanager
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from daemon_helpers import short_socket_path, stop_daemon

from fim_server.config import Settings
from fim_server.daemon.client import DaemonClient, DaemonError
from fim_server.daemon.remote import RemoteEngine
from fim_server.engine.types import FillControl
from fim_server.lsp.engines import ModelUnavailable, choose_loader

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def float32_daemon(random_model_path):
    """A daemon on the random model in float32 with one thread, started through a client."""
    client = DaemonClient(short_socket_path("fimd-reuse-"), spawn_args=[
        "--model", str(random_model_path), "--dtype", "float32", "--threads", "1", "--idle-timeout", "300"])
    client.connect()
    yield client
    stop_daemon(client)


@contextmanager
def attached_engine(daemon: DaemonClient):
    """A RemoteEngine on the running daemon that never starts one, closed afterwards."""
    engine = RemoteEngine(DaemonClient(daemon.socket_path, autostart=False))
    try:
        yield engine
    finally:
        engine.close()


def complete_through(daemon: DaemonClient, model: Path, tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    source = tmp_path / "values.py"
    source.write_text("value = \n")
    command = [sys.executable, "-m", "fim_server.cli", "complete", f"{source}:1:9", "--engine", "daemon",
               "--socket", str(daemon.socket_path), "--model", str(model), *options]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_pong_reports_dtype_and_threads(float32_daemon):
    pong = float32_daemon.ping()
    assert pong.dtype == "float32"
    assert pong.threads == 1


def test_matching_settings_use_the_daemon(float32_daemon, random_model_path, tmp_path):
    completed = complete_through(float32_daemon, random_model_path, tmp_path, "--dtype", "float32", "--threads", "1")
    assert completed.returncode == 0, completed.stderr
    assert "not threads=" not in completed.stderr
    assert len(float32_daemon.started_pids) == 1, "the command used the running daemon"


def test_other_dtype_is_an_error(float32_daemon, random_model_path, tmp_path):
    completed = complete_through(float32_daemon, random_model_path, tmp_path, "--dtype", "bfloat16", "--threads", "1")
    assert completed.returncode == 1, completed.stderr
    assert "runs the model in dtype float32, not bfloat16 as configured" in completed.stderr
    assert f"fim-server serve --stop --socket {float32_daemon.socket_path}" in completed.stderr
    assert "or give this client another socket" in completed.stderr
    assert float32_daemon.ping().pid == float32_daemon.started_pids[0], "the running daemon was left alone"


def test_other_threads_is_a_warning(float32_daemon, random_model_path, tmp_path):
    completed = complete_through(float32_daemon, random_model_path, tmp_path, "--dtype", "float32", "--threads", "2")
    assert completed.returncode == 0, completed.stderr
    assert "runs with threads=1, not threads=2 as configured" in completed.stderr
    assert f"fim-server serve --stop --socket {float32_daemon.socket_path}" in completed.stderr


def test_language_server_loader_reports_other_dtype(float32_daemon, random_model_path, monkeypatch):
    monkeypatch.delenv("FIM_SERVER_LSP_TEST_ENGINE", raising=False)
    settings = replace(Settings(), model=str(random_model_path), dtype="bfloat16", threads=1)
    loader, kind = choose_loader(settings, engine="daemon", socket=str(float32_daemon.socket_path))
    assert kind == "daemon"
    with pytest.raises(ModelUnavailable, match="dtype float32, not bfloat16"):
        loader(str(random_model_path))


def test_connect_checks_each_setting(float32_daemon, random_model_path, caplog):
    with attached_engine(float32_daemon) as engine:
        with pytest.raises(DaemonError, match="dtype float32, not bfloat16"):
            engine.connect(random_model_path, dtype="bfloat16")
        with caplog.at_level(logging.WARNING, logger="fim_server.daemon.remote"):
            pong = engine.connect(random_model_path, dtype="float32", threads=4)
        assert pong.threads == 1
        assert "threads=1, not threads=4" in caplog.text
        caplog.clear()
        engine.connect(random_model_path)  # settings the caller leaves out are not checked
        assert caplog.text == ""


def test_auto_dtype_accepts_daemon(float32_daemon, random_model_path):
    with attached_engine(float32_daemon) as engine:
        pong = engine.connect(random_model_path, dtype="auto", threads=1)
    assert pong.dtype == "float32"


def test_request_budget_reaches_daemon(float32_daemon):
    with attached_engine(float32_daemon) as engine:
        full = engine.fill("value = ", "\n", canvas_tokens=16, effort="low")
        cut = engine.fill("value = ", "\n", canvas_tokens=16, effort="low", should_stop=FillControl(budget_ms=0.001))
    assert not full.budget_hit
    assert cut.budget_hit
    assert cut.steps == 2
