"""Language servers on the shared model daemon: two servers and one daemon, cancel, a killed daemon.

Most daemons serve the scripted test engine (``fim-server serve --engine fake
--fake-script``), which the servers pass on when they start one. The last test
shares the bundled model between two servers.
"""

import asyncio
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsp_helpers import (
    fixture_text,
    initialize_params,
    inline,
    inline_params,
    items_of,
    open_document,
    server_config,
    start_session,
    stats,
    stop_daemon_on,
    wait_for_log,
    wait_for_show,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError, JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from fim_server.daemon.client import DaemonClient, DaemonError

pytestmark = pytest.mark.asyncio(loop_scope="module")


def short_socket_path() -> Path:
    """A socket path well under the 107-byte limit (pytest's tmp_path can be too long)."""
    return Path(tempfile.mkdtemp(prefix="fimd-lsp-", dir="/tmp")) / "daemon.sock"


SHARED_SOCKET = short_socket_path()
SLOW_SOCKET = short_socket_path()
BROKEN_SOCKET = short_socket_path()
FRAGILE_SOCKET = short_socket_path()
SHARED_SCRIPT = {"text": "shared_completion()", "rules": [{"after": "def add(a, b):\n    ", "text": "return a + b"}],
                 "steps": 2}
# About three seconds per fill: long enough to cancel it or kill its daemon while it runs.
SLOW_SCRIPT = {"text": "slow_completion()", "steps": 60, "step_seconds": 0.05}
# A model folder whose daemon cannot start: config.json names an unknown model_type. It exists
# before the server starts, because the server checks for config.json when it reads its settings.
BROKEN_MODEL = BROKEN_SOCKET.parent / "model"
BROKEN_MODEL.mkdir()
(BROKEN_MODEL / "config.json").write_text('{"model_type": "no-such-model"}')


def daemon_config(script: dict | None, socket: Path, *extra_args: str):
    return server_config(script, "--engine", "daemon", "--socket", str(socket), *extra_args)


@pytest.fixture(scope="module", autouse=True)
def stop_daemons():
    """Shut down every daemon the servers of this module started, after the servers have stopped."""
    yield
    for socket in (SHARED_SOCKET, SLOW_SOCKET, BROKEN_SOCKET, FRAGILE_SOCKET):
        stop_daemon_on(socket)


@pytest_lsp.fixture(config=daemon_config(SHARED_SCRIPT, SHARED_SOCKET), scope="module")
async def first(lsp_client: LanguageClient):
    await start_session(lsp_client, initialize_params("vscode_1.101"))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=daemon_config(SHARED_SCRIPT, SHARED_SOCKET), scope="module")
async def second(lsp_client: LanguageClient):
    await start_session(lsp_client, initialize_params("neovim_0.11"))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=daemon_config(SLOW_SCRIPT, SLOW_SOCKET), scope="module")
async def slow(lsp_client: LanguageClient):
    await start_session(lsp_client, initialize_params("vscode_1.101"))
    yield
    await lsp_client.shutdown_session()


def ping(socket: Path):
    """Ask the daemon on ``socket`` for its pid and counters without starting one."""
    client = DaemonClient(socket, autostart=False)
    try:
        return client.ping()
    finally:
        client.close()


async def daemon_inflight(socket: Path) -> int:
    try:
        return (await asyncio.to_thread(ping, socket)).inflight
    except (DaemonError, OSError, TimeoutError):
        return -1  # no daemon listens right now


async def _inflight_is(socket: Path, count: int) -> bool:
    return await daemon_inflight(socket) == count


async def wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_two_servers_share_one_daemon(first: LanguageClient, second: LanguageClient):
    for client, uri in ((first, "file:///tmp/daemon/first.py"), (second, "file:///tmp/daemon/second.py")):
        open_document(client, uri, "def add(a, b):\n    ")
        items = items_of(await inline(client, uri, 1, 4))
        assert [item.insert_text for item in items] == ["return a + b"]

    first_stats, second_stats = await stats(first), await stats(second)
    assert first_stats["engine"] == second_stats["engine"] == "daemon"
    assert first_stats["engineThread"]["fills"] == 1
    assert second_stats["engineThread"]["fills"] == 1
    assert first_stats["daemon"]["socket"] == second_stats["daemon"]["socket"] == str(SHARED_SOCKET)
    started = first_stats["daemon"]["startedPids"] + second_stats["daemon"]["startedPids"]
    assert len(started) == 1, f"the servers started {len(started)} daemons"

    pong = await asyncio.to_thread(ping, SHARED_SOCKET)
    assert pong.pid == started[0]
    assert pong.engine == "fake"
    assert pong.stats["connections"] == 3, "both servers and this probe are connected to one daemon"
    log_text = SHARED_SOCKET.with_suffix(".log").read_text()
    assert log_text.count("daemon listening on") == 1, "one daemon process served both servers"
    assert log_text.count("serving the scripted test engine") == 1, "the engine was built once"


async def test_cancel_reaches_the_daemon(slow: LanguageClient):
    uri = "file:///tmp/daemon/cancel.py"
    open_document(slow, uri, "value = ")
    before = await stats(slow)
    future = slow.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, 0, 8),
                                        msg_id="daemon-cancel")
    reply = asyncio.wrap_future(future)
    assert await wait_for(lambda: _inflight_is(SLOW_SOCKET, 1)), "the fill never reached the daemon"

    slow.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="daemon-cancel"))
    with pytest.raises(JsonRpcRequestCancelled):
        await reply
    cancelled_before = before["engineThread"]["cancelledFills"]

    async def cancelled_by_daemon() -> bool:
        return (await stats(slow))["engineThread"]["cancelledFills"] == cancelled_before + 1

    # The daemon replies "cancelled" only when its engine stopped; a fill that ran on would count in "fills".
    assert await wait_for(cancelled_by_daemon), "the daemon never reported the fill as cancelled"
    after = await stats(slow)
    assert after["engineThread"]["fills"] == before["engineThread"]["fills"]
    assert await wait_for(lambda: _inflight_is(SLOW_SOCKET, 0)), "the daemon kept running the fill"


async def test_killed_daemon_is_restarted_for_the_request(slow: LanguageClient):
    uri = "file:///tmp/daemon/killed.py"
    open_document(slow, uri, "value = ")
    before = await stats(slow)
    first_pid = (await asyncio.to_thread(ping, SLOW_SOCKET)).pid
    request = asyncio.create_task(inline(slow, uri, 0, 8))
    assert await wait_for(lambda: _inflight_is(SLOW_SOCKET, 1)), "the fill never reached the daemon"

    os.kill(first_pid, signal.SIGKILL)
    items = items_of(await asyncio.wait_for(request, timeout=120))
    assert [item.insert_text for item in items] == ["slow_completion()"]

    after = await stats(slow)
    assert after["engineThread"]["fills"] == before["engineThread"]["fills"] + 1
    assert after["outcomes"].get("error", 0) == before["outcomes"].get("error", 0)
    restarted = after["daemon"]["startedPids"]
    assert len(restarted) == len(before["daemon"]["startedPids"]) + 1
    new_pid = (await asyncio.to_thread(ping, SLOW_SOCKET)).pid
    assert new_pid == restarted[-1]
    assert new_pid != first_pid


@pytest_lsp.fixture(config=daemon_config(SHARED_SCRIPT, FRAGILE_SOCKET), scope="module")
async def fragile(lsp_client: LanguageClient):
    await start_session(lsp_client, initialize_params("vscode_1.101"))
    yield
    await lsp_client.shutdown_session()


async def test_daemon_that_cannot_restart_gives_error(fragile: LanguageClient):
    os.kill((await asyncio.to_thread(ping, FRAGILE_SOCKET)).pid, signal.SIGKILL)
    folder = FRAGILE_SOCKET.parent
    shutil.rmtree(folder)  # no lock file can be created there, so no new daemon can start
    uri = "file:///tmp/daemon/fragile.py"
    open_document(fragile, uri, "def add(a, b):\n    ")
    with pytest.raises(JsonRpcInternalError, match="the model daemon is unavailable: cannot start the daemon"):
        await inline(fragile, uri, 1, 4)

    folder.mkdir(mode=0o700)
    items = items_of(await inline(fragile, uri, 1, 4))
    assert [item.insert_text for item in items] == ["return a + b"], "the server recovers once a daemon can start"
    current = await stats(fragile)
    assert current["outcomes"]["error"] == 1
    assert len(current["daemon"]["startedPids"]) == 2


@pytest_lsp.fixture(config=daemon_config(None, BROKEN_SOCKET, "--model", str(BROKEN_MODEL)), scope="module")
async def broken(lsp_client: LanguageClient):
    """A server whose daemon cannot start."""
    await lsp_client.initialize_session(initialize_params("vscode_1.101"))
    yield
    await lsp_client.shutdown_session()


async def test_daemon_that_cannot_start_is_reported(broken: LanguageClient):
    message = await wait_for_show(broken, "cannot use the model daemon", timeout=120)
    assert message.type == types.MessageType.Error
    assert "exited with status 2" in message.message
    assert "no-such-model" in message.message

    uri = "file:///tmp/daemon/broken.py"
    open_document(broken, uri, "value = ")
    assert items_of(await inline(broken, uri, 0, 8)) == []
    current = await stats(broken)
    assert current["outcomes"]["skipped"] == 1
    assert current["daemon"] is None


SWITCH_SOCKET = short_socket_path()


@pytest_lsp.fixture(config=server_config(SHARED_SCRIPT), scope="module")
async def switching(lsp_client: LanguageClient):
    """A server started with the local engine, switched by its settings."""
    await start_session(lsp_client, initialize_params("vscode_1.101"))
    yield
    await lsp_client.shutdown_session()
    stop_daemon_on(SWITCH_SOCKET)


async def configure_and_reload(client: LanguageClient, settings: dict) -> None:
    start = len(client.log_messages)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
    await wait_for_log(client, "model ready", start=start)


async def test_setting_switches_engine(switching: LanguageClient):
    assert (await stats(switching))["engine"] == "fake"
    await configure_and_reload(switching, {"fimServer": {"engine": "daemon", "daemonSocket": str(SWITCH_SOCKET)}})
    current = await stats(switching)
    assert current["engine"] == "daemon"
    assert current["daemon"]["socket"] == str(SWITCH_SOCKET)
    assert len(current["daemon"]["startedPids"]) == 1

    uri = "file:///tmp/daemon/switch.py"
    open_document(switching, uri, "def add(a, b):\n    ")
    assert [item.insert_text for item in items_of(await inline(switching, uri, 1, 4))] == ["return a + b"]
    assert (await asyncio.to_thread(ping, SWITCH_SOCKET)).stats["connections"] == 2

    await configure_and_reload(switching, {"fimServer": {}})
    current = await stats(switching)
    assert current["engine"] == "fake"
    assert current["daemon"] is None

    async def connection_closed() -> bool:
        return (await asyncio.to_thread(ping, SWITCH_SOCKET)).stats["connections"] == 1

    assert await wait_for(connection_closed), "the replaced pipeline kept its daemon connection"


async def test_invalid_engine_settings_keep_last_good(switching: LanguageClient):
    switching.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"fimServer": {"engine": "remote", "daemonSocket": "relative.sock"}}))
    message = await wait_for_show(switching, 'engine="remote"')
    assert message.type == types.MessageType.Error
    assert 'use one of "local", "daemon"' in message.message
    assert 'daemonSocket="relative.sock": not an absolute path' in message.message
    assert "Keeping the previous settings" in message.message
    assert (await stats(switching))["engine"] == "fake"


BUNDLED_MODEL = Path(__file__).resolve().parents[2] / "models" / "fim-diffusion-small"
MODEL_SOCKET = short_socket_path()


@pytest_lsp.fixture(config=daemon_config(None, MODEL_SOCKET), scope="module")
async def model_first(lsp_client: LanguageClient):
    await start_session(lsp_client, initialize_params("vscode_1.101"))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=daemon_config(None, MODEL_SOCKET), scope="module")
async def model_second(lsp_client: LanguageClient):
    await start_session(lsp_client, initialize_params("neovim_0.11"))
    yield
    await lsp_client.shutdown_session()
    stop_daemon_on(MODEL_SOCKET)


@pytest.mark.skipif(not (BUNDLED_MODEL / "config.json").is_file(), reason=f"bundled model missing at {BUNDLED_MODEL}")
async def test_bundled_model_loaded_once_for_two_servers(model_first: LanguageClient, model_second: LanguageClient):
    for client, uri in ((model_first, "file:///tmp/daemon/model1.py"), (model_second, "file:///tmp/daemon/model2.py")):
        open_document(client, uri, fixture_text("sample.py"))
        items = items_of(await inline(client, uri, 8, 4))
        assert len(items) <= 1
        current = await stats(client)
        assert current["engine"] == "daemon"
        assert current["engineThread"]["fills"] == 1

    started = [pid for client in (model_first, model_second) for pid in (await stats(client))["daemon"]["startedPids"]]
    assert len(started) == 1, f"the servers started {len(started)} daemons"
    pong = await asyncio.to_thread(ping, MODEL_SOCKET)
    assert pong.pid == started[0]
    assert pong.engine == "diffusion"
    assert Path(pong.model) == BUNDLED_MODEL
    log_text = MODEL_SOCKET.with_suffix(".log").read_text()
    assert log_text.count(f"loaded {BUNDLED_MODEL} (") == 1, "the model was loaded once for both servers"
