"""Model folders that batching does not apply to, served one fill at a time through the daemon protocol."""

import threading
from pathlib import Path

import pytest

from daemon_helpers import short_socket_path, stop_daemon

from fim_server.daemon.client import DaemonClient, DaemonError
from fim_server.daemon.remote import RemoteEngine

PREFIX, SUFFIX = "def square(x):\n    return ", "\n\nprint(square(3))\n"


@pytest.fixture(scope="module")
def autoregressive_daemon(autoregressive_random_model_path):
    """A daemon that the client starts on the autoregressive model folder."""
    socket_path = short_socket_path("fimd-ar-")
    client = DaemonClient(socket_path, spawn_args=["--model", str(autoregressive_random_model_path), "--dtype",
                                                   "float32", "--threads", "1", "--idle-timeout", "300"])
    client.connect()
    yield client
    stop_daemon(client)


def test_autoregressive_fill_matches_in_process(autoregressive_daemon, autoregressive_random_model_path):
    from fim_server.engine.autoregressive import AutoregressiveEngine

    local = AutoregressiveEngine(autoregressive_random_model_path, dtype="float32", threads=1)
    expected = local.fill(PREFIX, SUFFIX, canvas_tokens=12)
    remote = RemoteEngine(autoregressive_daemon).fill(PREFIX, SUFFIX, canvas_tokens=12)
    assert [candidate.text for candidate in remote.candidates] == [candidate.text for candidate in expected.candidates]
    assert remote.steps == expected.steps
    assert remote.steps >= 1

    pong = autoregressive_daemon.ping()
    assert pong.engine == "autoregressive"
    assert Path(pong.model) == autoregressive_random_model_path
    assert "steps" not in pong.stats, "an unbatched engine has no batch counters"
    log_text = autoregressive_daemon.socket_path.with_suffix(".log").read_text()
    assert "(autoregressive engine) one fill at a time" in log_text


def test_concurrent_autoregressive_fills_all_finish(autoregressive_daemon):
    engine = RemoteEngine(autoregressive_daemon)
    texts: dict[int, str] = {}
    errors: list[Exception] = []

    def fill(index: int) -> None:
        try:
            texts[index] = engine.fill(PREFIX, SUFFIX, canvas_tokens=8).candidates[0].text
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=fill, args=(index,)) for index in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    assert sorted(texts) == [0, 1, 2]
    assert len(set(texts.values())) == 1, "greedy decoding of one context gives one text"


def test_connect_rejects_daemon_serving_another_model(autoregressive_daemon, random_model_path):
    other = RemoteEngine(DaemonClient(autoregressive_daemon.socket_path, autostart=False))
    try:
        with pytest.raises(DaemonError, match="serves the model"):
            other.connect(random_model_path)
    finally:
        other.close()
