"""`fim-server complete` and `fim-server stdio` with `--engine daemon`: fills through a running daemon."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from daemon_helpers import short_socket_path, stop_daemon

from fim_server.daemon.client import DaemonClient

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fake_daemon():
    """A daemon with the scripted engine, started by a client that the command line then shares."""
    socket_path = short_socket_path("fimd-cli-")
    client = DaemonClient(socket_path, spawn_args=["--engine", "fake", "--idle-timeout", "300"])
    client.connect()
    yield client
    stop_daemon(client)


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fim_server.cli", *args], cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_complete_through_daemon(fake_daemon, tmp_path):
    source = tmp_path / "values.py"
    source.write_text("value = \n")
    completed = run_cli("complete", f"{source}:1:9", "--json", "--engine", "daemon",
                        "--socket", str(fake_daemon.socket_path))
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["text"] == "fake_completion()"
    assert result["model_steps"] == 4
    assert fake_daemon.started_pids == [fake_daemon.ping().pid], "the command used the running daemon"


def test_stdio_through_daemon(fake_daemon):
    request = json.dumps({"id": 1, "text": "value = \n", "line": 0, "character": 8, "language": "python"})
    completed = run_cli("stdio", "--engine", "daemon", "--socket", str(fake_daemon.socket_path), stdin=request + "\n")
    assert completed.returncode == 0, completed.stderr
    reply = json.loads(completed.stdout.splitlines()[0])
    assert reply["id"] == 1
    assert reply["result"]["text"] == "fake_completion()"


def test_complete_with_invalid_socket_setting(tmp_path):
    source = tmp_path / "values.py"
    source.write_text("value = \n")
    completed = run_cli("complete", f"{source}:1:9", "--engine", "daemon", "--socket", "/nonexistent-fim/d.sock")
    assert completed.returncode == 2
    assert "invalid socket '/nonexistent-fim/d.sock'" in completed.stderr
    assert "folder /nonexistent-fim does not exist" in completed.stderr


def test_complete_when_daemon_cannot_start(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "no-such-model"}')
    source = tmp_path / "values.py"
    source.write_text("value = \n")
    socket_path = short_socket_path("fimd-cli-")
    completed = run_cli("complete", f"{source}:1:9", "--engine", "daemon", "--socket", str(socket_path),
                        "--model", str(model))
    assert completed.returncode == 1
    assert "the daemon exited with status 2 while starting" in completed.stderr
    assert "no-such-model" in completed.stderr


def test_serve_socket_in_missing_folder(tmp_path):
    socket_path = tmp_path / "missing" / "d.sock"
    completed = run_cli("serve", "--engine", "fake", "--socket", str(socket_path))
    assert completed.returncode == 2
    assert f"invalid socket path {socket_path}: folder {socket_path.parent} does not exist" in completed.stderr


def test_serve_keeps_file_at_socket_path():
    socket_path = short_socket_path("fimd-file-")
    socket_path.write_text("notes\n")
    completed = run_cli("serve", "--engine", "fake", "--socket", str(socket_path))
    assert completed.returncode == 1
    assert f"{socket_path} exists and is not a socket, so it is left alone" in completed.stderr
    assert socket_path.read_text() == "notes\n"


def test_serve_busy_port_before_model(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        completed = run_cli("serve", "--socket", str(short_socket_path("fimd-port-")), "--http-port", str(port),
                            "--model", str(tmp_path / "no-model"))
    assert completed.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in completed.stderr
    assert "no config.json" not in completed.stderr, "the port is checked before the model"
