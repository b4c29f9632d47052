"""The idle_timeout setting reaches the daemon that a client starts, from the environment or the command line."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from daemon_helpers import short_socket_path, stop_daemon, wait_until

from fim_server.daemon.client import DaemonClient

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, environ: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FIM_SERVER_")}
    env.update(environ or {})
    return subprocess.run([sys.executable, "-m", "fim_server.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def stop_daemon_on(socket: Path) -> None:
    stop_daemon(DaemonClient(socket, autostart=False))


def complete_through_daemon(socket: Path, model: Path, tmp_path: Path, *options: str,
                            environ: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    source = tmp_path / "values.py"
    source.write_text("value = \n")
    return run_cli("complete", f"{source}:1:9", "--engine", "daemon", "--socket", str(socket), "--model", str(model),
                   "--dtype", "float32", *options, environ=environ)


def test_environment_sets_started_daemon_idle_timeout(random_model_path, tmp_path):
    socket = short_socket_path("fimd-idle-")
    try:
        completed = complete_through_daemon(socket, random_model_path, tmp_path,
                                            environ={"FIM_SERVER_IDLE_TIMEOUT": "2"})
        assert completed.returncode == 0, completed.stderr
        log_text = socket.with_suffix(".log").read_text()
        assert "idle timeout 2 s)" in log_text
        assert wait_until(lambda: not socket.exists()), "the daemon kept running past its idle timeout"
        # The daemon removes its socket first and logs why it stopped just after.
        assert wait_until(lambda: "daemon stopped: idle for" in socket.with_suffix(".log").read_text())
    finally:
        stop_daemon_on(socket)


def test_command_line_turns_idle_exit_off(random_model_path, tmp_path):
    socket = short_socket_path("fimd-idle-")
    try:
        completed = complete_through_daemon(socket, random_model_path, tmp_path, "--idle-timeout", "0",
                                            environ={"FIM_SERVER_IDLE_TIMEOUT": "2"})
        assert completed.returncode == 0, completed.stderr
        assert "idle timeout off)" in socket.with_suffix(".log").read_text()
        time.sleep(3)
        assert socket.exists(), "a daemon without idle timeout stopped by itself"
    finally:
        stop_daemon_on(socket)


def test_invalid_idle_timeout_stops_command(random_model_path, tmp_path):
    socket = short_socket_path("fimd-idle-")
    try:
        completed = complete_through_daemon(socket, random_model_path, tmp_path,
                                            environ={"FIM_SERVER_IDLE_TIMEOUT": "soon"})
        assert completed.returncode == 2
        assert "invalid idle_timeout 'soon' in $FIM_SERVER_IDLE_TIMEOUT: use a whole number of seconds >= 0" in completed.stderr
        assert not socket.exists(), "no daemon starts with an invalid setting"
    finally:
        stop_daemon_on(socket)


def test_serve_reads_idle_timeout_setting(random_model_path):
    socket = short_socket_path("fimd-idle-")
    completed = run_cli("serve", "--socket", str(socket), "--model", str(random_model_path), "--dtype", "float32",
                        environ={"FIM_SERVER_IDLE_TIMEOUT": "1"}, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "idle timeout 1 s)" in completed.stderr
    assert "daemon stopped: idle for" in completed.stderr


@pytest.mark.parametrize(("value", "message"), [
    ("-1", "invalid --idle-timeout -1: use a whole number of seconds >= 0 (0 keeps the daemon running"),
    ("1.5", "argument --idle-timeout: invalid int value: '1.5'"),
], ids=["negative", "fraction"])
def test_serve_rejects_invalid_idle_timeout(value, message):
    socket = short_socket_path("fimd-idle-")
    try:
        completed = run_cli("serve", "--engine", "fake", "--socket", str(socket), "--idle-timeout", value,
                            timeout=120)
        assert completed.returncode == 2, completed.stderr
        assert message in completed.stderr
        assert "daemon listening" not in completed.stderr, "no daemon starts with an invalid idle timeout"
    finally:
        stop_daemon_on(socket)


def test_scripted_engine_reads_idle_setting():
    socket = short_socket_path("fimd-idle-")
    completed = run_cli("serve", "--engine", "fake", "--socket", str(socket), environ={"FIM_SERVER_IDLE_TIMEOUT": "1"},
                        timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "idle timeout 1 s)" in completed.stderr
    assert "daemon stopped: idle for" in completed.stderr
