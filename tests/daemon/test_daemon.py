"""The daemon as editors use it: started on demand, shared, cancelled, killed, idle, fed bad frames."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import msgspec
import pytest
from daemon_helpers import short_socket_path, stop_daemon, wait_until

from fim_server.daemon import protocol
from fim_server.daemon.client import DaemonClient, DaemonError
from fim_server.daemon.remote import RemoteEngine
from fim_server.engine.batching import DeadlineExceeded, FillControl
from fim_server.engine.sampler import FillCancelled
from fim_server.pipeline import CompletionPipeline, CompletionRequest

FAKE = ["--engine", "fake", "--idle-timeout", "120"]


@pytest.fixture(scope="module")
def slow_daemon():
    """A fake-engine daemon whose fills take 4 steps of 0.25 s, started through the client."""
    # A long idle timeout: the module's tests take minutes on a loaded machine and must find it running.
    client = DaemonClient(short_socket_path(), spawn_args=["--engine", "fake", "--idle-timeout", "1800",
                                                           "--fake-step-seconds", "0.25"])
    client.connect()
    yield client
    stop_daemon(client)


def test_client_starts_daemon_and_fills(slow_daemon):
    assert len(slow_daemon.started_pids) == 1
    result = RemoteEngine(slow_daemon).fill("def f(", ")", canvas_tokens=8, effort="low")
    assert result.candidates[0].text == "fake_completion()"
    assert result.steps == 4
    pong = slow_daemon.ping()
    assert pong.pid == slow_daemon.started_pids[0]
    assert pong.protocol == protocol.PROTOCOL_VERSION


def test_pipeline_runs_on_remote_engine(slow_daemon):
    pipeline = CompletionPipeline(RemoteEngine(slow_daemon))
    try:
        result = pipeline.complete(CompletionRequest(prefix="value = ", suffix="\n", language="python"))
    finally:
        pipeline.close()
    assert result.text == "fake_completion()"
    assert result.model_steps == 4


def test_cancel_reaches_the_daemon(slow_daemon):
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(FillCancelled):
        RemoteEngine(slow_daemon).fill("a", "", canvas_tokens=8, should_stop=stop.is_set)
    assert wait_until(lambda: slow_daemon.ping().inflight == 0, timeout=10)


def test_deadline_is_forwarded(slow_daemon):
    with pytest.raises(DeadlineExceeded):
        RemoteEngine(slow_daemon).fill("a", "", canvas_tokens=8,
                                       should_stop=FillControl(deadline=time.monotonic() + 0.3))


def test_invalid_fill_is_reported(slow_daemon):
    with pytest.raises(ValueError, match="invalid effort"):
        RemoteEngine(slow_daemon).fill("a", "", canvas_tokens=8, effort="maximal")
    with pytest.raises(ValueError, match="invalid canvas_tokens"):
        RemoteEngine(slow_daemon).fill("a", "", canvas_tokens=0)


@pytest.mark.parametrize("timeout_ms", [float("nan"), float("inf"), -1.0, 0.0])
def test_invalid_fill_timeout_is_rejected(slow_daemon, timeout_ms):
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(str(slow_daemon.socket_path))
        raw.settimeout(10)
        fill = protocol.FillMessage(id=4, prefix="a", suffix="", canvas_tokens=8, timeout_ms=timeout_ms)
        raw.sendall(protocol.encode_frame(fill))
        reply = read_reply(raw)
    assert type(reply).__name__ == "ErrorReply"
    assert reply.code == protocol.INVALID_REQUEST
    assert "invalid timeout_ms" in reply.message


def test_malformed_frames_get_errors_and_connection_survives(slow_daemon):
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(str(slow_daemon.socket_path))
        raw.settimeout(10)
        garbage = b"\xc1not msgpack"
        raw.sendall(protocol.HEADER.pack(len(garbage)) + garbage)
        unknown = msgspec.msgpack.encode({"type": "launch", "id": 3})
        raw.sendall(protocol.HEADER.pack(len(unknown)) + unknown)
        ping = protocol.encode_frame(protocol.PingMessage(id=9))
        raw.sendall(ping)
        replies = [read_reply(raw) for _ in range(3)]
        assert [type(reply).__name__ for reply in replies] == ["ErrorReply", "ErrorReply", "PongReply"]
        assert all(reply.code == protocol.INVALID_REQUEST for reply in replies[:2])
        raw.sendall(protocol.HEADER.pack(protocol.MAX_MESSAGE_BYTES + 1))
        too_big = read_reply(raw)
        assert "exceeds the limit" in too_big.message
        assert raw.recv(1) == b"", "the daemon closes a stream it can no longer frame"
    assert slow_daemon.ping().pid == slow_daemon.started_pids[0]


def read_reply(raw: socket.socket):
    header = b""
    while len(header) < 4:
        header += raw.recv(4 - len(header))
    length = protocol.HEADER.unpack(header)[0]
    payload = b""
    while len(payload) < length:
        payload += raw.recv(length - len(payload))
    return protocol.daemon_decoder.decode(payload)


CLIENT_SCRIPT = """
import sys
from fim_server.daemon.client import DaemonClient
from fim_server.daemon.remote import RemoteEngine
client = DaemonClient(sys.argv[1], spawn_args=sys.argv[2:])
engine = RemoteEngine(client)
texts = [engine.fill("x = ", "", canvas_tokens=4).candidates[0].text for _ in range(3)]
print("pid", client.ping().pid, "started", len(client.started_pids), "texts", len(set(texts)))
"""


def test_two_client_processes_share_one_daemon():
    path = short_socket_path()
    command = [sys.executable, "-c", CLIENT_SCRIPT, str(path), *FAKE, "--fake-step-seconds", "0.05"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=180) for process in processes]
    try:
        for process, (out, err) in zip(processes, outputs):
            assert process.returncode == 0, err
        fields = [out.split() for out, _ in outputs]
        pids = {words[1] for words in fields}
        assert len(pids) == 1, f"two daemons answered: {pids}"
        assert sorted(words[3] for words in fields) == ["0", "1"], "exactly one client starts the daemon"
    finally:
        stop_daemon(DaemonClient(path, autostart=False))


def test_killed_daemon_is_restarted_and_fill_retried():
    path = short_socket_path()
    client = DaemonClient(path, spawn_args=[*FAKE, "--fake-step-seconds", "0.5"])
    observer = DaemonClient(path, autostart=False)
    outcome = {}

    def fill():
        try:
            outcome["result"] = RemoteEngine(client).fill("a = ", "", canvas_tokens=4)
        except Exception as exc:  # the assertion below reports it
            outcome["error"] = exc

    worker = threading.Thread(target=fill)
    worker.start()
    try:
        assert wait_until(lambda: bool(client.started_pids)), "the client never started a daemon"
        assert wait_until(lambda: _inflight(observer) == 1), "the fill never reached the daemon"
        first_pid = client.started_pids[0]
        os.kill(first_pid, signal.SIGKILL)
        worker.join(timeout=120)
        assert "error" not in outcome, outcome.get("error")
        assert outcome["result"].candidates[0].text == "fake_completion()"
        assert len(client.started_pids) == 2
        assert client.ping().pid == client.started_pids[1] != first_pid
    finally:
        stop_daemon(client)
        observer.close()


def _inflight(observer: DaemonClient) -> int:
    try:
        return observer.ping(timeout=2).inflight
    except (DaemonError, OSError, TimeoutError):
        observer.close()
        return -1


def test_idle_daemon_exits_and_removes_socket():
    path = short_socket_path()
    client = DaemonClient(path, spawn_args=["--engine", "fake", "--idle-timeout", "1"])
    client.connect()
    pid = client.started_pids[0]
    assert wait_until(lambda: not path.exists(), timeout=60), "the idle daemon kept running"
    assert wait_until(lambda: not _alive(pid), timeout=10)
    client.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_second_daemon_on_same_socket_refuses(slow_daemon):
    command = [sys.executable, "-m", "fim_server.cli", "serve", "--socket", str(slow_daemon.socket_path), *FAKE]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 1
    assert "already listens" in finished.stderr
    assert slow_daemon.ping().pid == slow_daemon.started_pids[0]


def test_stale_socket_file_is_replaced():
    path = short_socket_path()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nothing listens
    client = DaemonClient(path, spawn_args=FAKE)
    try:
        assert RemoteEngine(client).fill("a", "", canvas_tokens=4).candidates
    finally:
        stop_daemon(client)


def test_bundled_model_through_daemon_matches_in_process(bundled_model_snapshot):
    from fim_server.engine.engine import DiffusionEngine

    prefix, suffix = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"
    expected = DiffusionEngine(bundled_model_snapshot, dtype="float32", threads=1).fill(prefix, suffix, canvas_tokens=16)
    client = DaemonClient(short_socket_path(), spawn_args=["--model", str(bundled_model_snapshot), "--dtype", "float32",
                                                           "--threads", "1", "--idle-timeout", "120"])
    try:
        remote = RemoteEngine(client).fill(prefix, suffix, canvas_tokens=16)
        assert [c.text for c in remote.candidates] == [c.text for c in expected.candidates]
        assert remote.steps == expected.steps
        assert client.ping().engine == "diffusion"
    finally:
        stop_daemon(client)
