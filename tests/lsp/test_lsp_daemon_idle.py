"""The daemonIdleTimeout setting: a daemon that the language server starts exits after that many idle seconds.

The daemon serves the scripted test engine, which the server passes on when it starts one.
"""

import asyncio
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsp_helpers import (
    initialize_params,
    inline,
    items_of,
    open_document,
    server_config,
    start_session,
    stats,
    stop_daemon_on,
    wait_for_show,
)
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCRIPT = {"text": "idle_completion()", "steps": 2}
IDLE_SECONDS = 3
SOCKET = Path(tempfile.mkdtemp(prefix="fimd-idle-", dir="/tmp")) / "daemon.sock"  # short, because Unix socket paths are limited to 107 bytes
DAEMON_LOG = SOCKET.with_suffix(".log")


@pytest_lsp.fixture(config=server_config(SCRIPT, "--engine", "daemon", "--socket", str(SOCKET)), scope="module")
async def client(lsp_client: LanguageClient):
    options = {"fimServer": {"daemonIdleTimeout": IDLE_SECONDS}}
    await start_session(lsp_client, initialize_params("vscode_1.101", initialization_options=options))
    yield
    await lsp_client.shutdown_session()
    stop_daemon_on(SOCKET)


async def wait_until(condition, timeout: float = 60.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.1)
    return False


async def complete_once(client: LanguageClient, uri: str) -> list[str]:
    open_document(client, uri, "value = ")
    return [item.insert_text for item in items_of(await inline(client, uri, 0, 8))]


async def test_started_daemon_exits_after_idle_timeout(client: LanguageClient):
    assert await complete_once(client, "file:///tmp/idle/first.py") == ["idle_completion()"]
    assert f"idle timeout {IDLE_SECONDS} s)" in DAEMON_LOG.read_text()
    assert "idle timeout 1800 s)" not in DAEMON_LOG.read_text()

    assert await wait_until(lambda: not SOCKET.exists()), "the daemon kept running past its idle timeout"
    # The daemon removes its socket first and logs why it stopped just after.
    assert await wait_until(lambda: "daemon stopped: idle for" in DAEMON_LOG.read_text())

    # The next request starts a new daemon, with the same idle timeout.
    assert await complete_once(client, "file:///tmp/idle/second.py") == ["idle_completion()"]
    assert len((await stats(client))["daemon"]["startedPids"]) == 2
    assert DAEMON_LOG.read_text().count(f"idle timeout {IDLE_SECONDS} s)") == 2


async def test_invalid_idle_timeout_keeps_last_good(client: LanguageClient):
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"fimServer": {"daemonIdleTimeout": -5}}))
    message = await wait_for_show(client, "daemonIdleTimeout=-5")
    assert message.type == types.MessageType.Error
    assert "use a whole number of seconds >= 0 (0 keeps the daemon running until it is stopped)" in message.message
    assert "Keeping the previous settings" in message.message
