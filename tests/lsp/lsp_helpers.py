"""Helpers for driving ``fim-server lsp`` with pytest-lsp over stdio.

Client capabilities in ``fixtures/clients`` were written from the public
documentation of each client: Neovim 0.11 (``vim.lsp.protocol.
make_client_capabilities()``, which offers UTF-8, UTF-16 and UTF-32 and has no
inline completion) and VS Code 1.101 with vscode-languageclient (UTF-16 only,
``textDocument.inlineCompletion``).

Most servers run the scripted test engine selected by
``FIM_SERVER_LSP_TEST_ENGINE``. Servers shared by several tests are
session-scoped; each test uses its own document URIs.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path

from lsprotocol import types
from lsprotocol.converters import get_converter
from pytest_lsp import ClientServerConfig, LanguageClient

from fim_server.daemon.client import DaemonClient, DaemonError
from fim_server.lsp.engines import TEST_ENGINE_VARIABLE

FIXTURES = Path(__file__).parent / "fixtures"
SERVER_COMMAND = [sys.executable, "-m", "fim_server.cli", "lsp"]
FAST_ENGINE = {
    "text": "fake_completion()",
    "rules": [
        {"after": "def add(a, b):\n    ", "text": "return a + b"},
        {"after": "total = ", "text": "compute_total(items)"},
        {"after": " + ", "text": "\"🐍\" + name"},
        {"after": "    ret", "text": "urn a + b"},
        {"after": "🐍X", "text": "inside_string"},
        {"after": "explode = ", "fail": "engine exploded"},
    ],
    "steps": 2,
}
SLOW_ENGINE = {"text": "slow_completion()", "steps": 40, "step_seconds": 0.025}
_converter = get_converter()


def server_env(script: dict | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(TEST_ENGINE_VARIABLE, None)
    if script is not None:
        env[TEST_ENGINE_VARIABLE] = json.dumps(script)
    return env


def server_config(script: dict | None, *extra_args: str) -> ClientServerConfig:
    return ClientServerConfig(server_command=[*SERVER_COMMAND, *extra_args], server_env=server_env(script))


def initialize_params(client: str, initialization_options=None, **capability_overrides) -> types.InitializeParams:
    """Build InitializeParams from a recorded client ("neovim_0.11", "vscode_1.101")."""
    recorded = json.loads((FIXTURES / "clients" / f"{client}.json").read_text())
    capabilities = recorded["capabilities"]
    for path, value in capability_overrides.items():
        node = capabilities
        *parents, leaf = path.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return types.InitializeParams(
        capabilities=_converter.structure(capabilities, types.ClientCapabilities),
        client_info=types.ClientInfo(**recorded["clientInfo"]),
        initialization_options=initialization_options,
        root_uri=(FIXTURES / "documents").as_uri(),
    )


def fixture_text(name: str) -> str:
    return (FIXTURES / "documents" / name).read_text(encoding="utf-8")


def uri_for(name: str) -> str:
    return (FIXTURES / "documents" / name).as_uri()


def open_document(client: LanguageClient, uri: str, text: str, language_id: str = "python", version: int = 1):
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language_id, version=version, text=text)))


def insert_text(client: LanguageClient, uri: str, version: int, line: int, character: int, text: str):
    """Send one incremental change that inserts ``text`` at line:character (client units)."""
    at = types.Position(line=line, character=character)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text=text)]))


def inline_params(uri: str, line: int, character: int, invoked: bool = True) -> types.InlineCompletionParams:
    kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=kind),
    )


async def inline(client: LanguageClient, uri: str, line: int, character: int, invoked: bool = True):
    return await client.text_document_inline_completion_async(inline_params(uri, line, character, invoked))


def items_of(result) -> list[types.InlineCompletionItem]:
    if result is None:
        return []
    return list(result.items) if isinstance(result, types.InlineCompletionList) else list(result)


def as_plain(value):
    """Turn the namedtuples pygls builds for untyped results back into dicts and lists."""
    if hasattr(value, "_asdict"):
        return {key: as_plain(item) for key, item in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [as_plain(item) for item in value]
    return value


async def stats(client: LanguageClient, recent: bool = False) -> dict:
    return as_plain(await client.protocol.send_request_async("fimServer/stats", {"recent": recent}))


def count_responses(client: LanguageClient) -> Counter:
    """Count every response message the client receives, by request id."""
    counts: Counter = Counter()
    original = client.protocol._handle_response

    def counting(msg_id, result=None, error=None):
        counts[msg_id] += 1
        return original(msg_id, result, error)

    client.protocol._handle_response = counting
    return counts


async def _wait_for_message(received: list, kind: str, needle: str, timeout: float, start: int = 0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for message in received[start:]:
            if needle in message.message:
                return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} containing {needle!r}; got {[m.message for m in received]}")


async def wait_for_log(client: LanguageClient, needle: str, timeout: float = 60.0,
                       start: int = 0) -> types.LogMessageParams:
    """Wait until a window/logMessage containing ``needle`` has arrived (from index ``start`` on)."""
    return await _wait_for_message(client.log_messages, "window/logMessage", needle, timeout, start)


async def wait_for_show(client: LanguageClient, needle: str, timeout: float = 60.0) -> types.ShowMessageParams:
    """Wait until a window/showMessage containing ``needle`` has arrived."""
    return await _wait_for_message(client.messages, "window/showMessage", needle, timeout)


async def start_session(client: LanguageClient, params: types.InitializeParams) -> types.InitializeResult:
    result = await client.initialize_session(params)
    await wait_for_log(client, "model ready")
    return result


def stop_daemon_on(socket: Path) -> None:
    """Shut down the daemon on ``socket`` if one listens there."""
    client = DaemonClient(socket, autostart=False)
    try:
        client.shutdown()
    except (DaemonError, OSError):
        pass
    client.close()
