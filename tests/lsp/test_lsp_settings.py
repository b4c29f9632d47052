"""Settings from initializationOptions and workspace/didChangeConfiguration; bad values keep the last good ones."""

import json
import re

import pytest
import pytest_lsp
from lsprotocol import types
from lsp_helpers import (
    FAST_ENGINE,
    initialize_params,
    inline,
    items_of,
    open_document,
    server_config,
    start_session,
    stats,
    wait_for_log,
    wait_for_show,
)
from pytest_lsp import LanguageClient

from fim_server.lsp.settings import LspSettings, PartlyAppliedSettings, SettingsError, SettingsState

pytestmark = pytest.mark.asyncio(loop_scope="module")

BAD_INITIALIZATION = {"fimServer": {"effort": "turbo", "maxLines": 0, "debounceMaxMs": 300}}


@pytest_lsp.fixture(config=server_config(FAST_ENGINE), scope="module")
async def client(lsp_client: LanguageClient):
    """VS Code started with invalid initializationOptions."""
    await start_session(lsp_client, initialize_params("vscode_1.101", initialization_options=BAD_INITIALIZATION))
    yield
    await lsp_client.shutdown_session()


def configure(client: LanguageClient, settings) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))


async def suggestions(client: LanguageClient, uri: str, text: str, line: int, character: int,
                      language_id: str = "python") -> list[str]:
    open_document(client, uri, text, language_id=language_id)
    return [item.insert_text for item in items_of(await inline(client, uri, line, character))]


@pytest.fixture
def reset(client: LanguageClient):
    configure(client, {"fimServer": {}})
    return client


async def test_invalid_initialization_options(client: LanguageClient):
    message = await wait_for_show(client, "initializationOptions")
    assert message.type == types.MessageType.Error
    assert "effort=\"turbo\"" in message.message
    assert "maxLines=0" in message.message
    assert "Keeping the previous settings" in message.message
    assert await suggestions(client, "file:///tmp/settings/init.py", "total = ", 0, 8) == ["compute_total(items)"]


async def test_language_turned_off(reset: LanguageClient):
    configure(reset, {"fimServer": {"languages": {"*": True, "python": False}}})
    assert await suggestions(reset, "file:///tmp/settings/off.py", "total = ", 0, 8) == []
    assert await suggestions(reset, "file:///tmp/settings/on.go", "total = ", 0, 8, "go") == ["compute_total(items)"]


async def test_invalid_change_keeps_last_good(reset: LanguageClient):
    configure(reset, {"fimServer": {"languages": {"python": False}}})
    configure(reset, {"fimServer": {"debounceMinMs": 900, "debounceMaxMs": 100}})
    message = await wait_for_show(reset, "debounceMinMs=900 is above debounceMaxMs=100")
    assert message.type == types.MessageType.Error
    assert await suggestions(reset, "file:///tmp/settings/kept.py", "total = ", 0, 8) == []
    configure(reset, {"fimServer": {}})
    assert await suggestions(reset, "file:///tmp/settings/back.py", "total = ", 0, 8) == ["compute_total(items)"]


async def test_wrong_types_reported(reset: LanguageClient):
    configure(reset, {"fimServer": {"maxLines": "20", "languages": ["python"], "inStrings": True}})
    message = await wait_for_show(reset, "maxLines=\"20\"")
    assert "languages=[\"python\"]" in message.message
    assert "inStrings=true" in message.message
    configure(reset, {"fimServer": "fast"})
    await wait_for_show(reset, "expected an object of settings, got str")
    assert await suggestions(reset, "file:///tmp/settings/types.py", "total = ", 0, 8) == ["compute_total(items)"]


async def test_unknown_key_warns(reset: LanguageClient):
    configure(reset, {"fimServer": {"effort": "medium", "colour": "red"}})
    message = await wait_for_show(reset, "ignoring unknown settings")
    assert message.type == types.MessageType.Warning
    assert "colour" in message.message


async def test_comments_and_strings_off(reset: LanguageClient):
    configure(reset, {"fimServer": {"inComments": "off", "inStrings": "off"}})
    text = '# total = \nname = "total = "\ntotal = '
    assert await suggestions(reset, "file:///tmp/settings/comment.py", text, 0, 10) == []
    assert await suggestions(reset, "file:///tmp/settings/string.py", text, 1, 16) == []
    assert await suggestions(reset, "file:///tmp/settings/code.py", text, 2, 8) == ["compute_total(items)"]
    configure(reset, {"fimServer": {"inComments": "on"}})
    assert await suggestions(reset, "file:///tmp/settings/comment_on.py", text, 0, 10) == ["compute_total(items)"]


async def test_confidence_floor(reset: LanguageClient):
    # The scripted engine gives every candidate a confidence of 0.9.
    configure(reset, {"fimServer": {"minConfidence": 0.95}})
    assert await suggestions(reset, "file:///tmp/settings/floor_high.py", "total = ", 0, 8) == []
    configure(reset, {"fimServer": {"minConfidence": 0.5}})
    assert await suggestions(reset, "file:///tmp/settings/floor_low.py", "total = ", 0, 8) == ["compute_total(items)"]


@pytest.mark.parametrize("value", [1.5, -0.1, "0.5", True])
async def test_invalid_confidence_floor_unit(value):
    state = SettingsState(LspSettings())
    with pytest.raises(SettingsError, match=rf"minConfidence={re.escape(json.dumps(value))}: use a number from 0 to 1"):
        state.update("workspace", {"fimServer": {"minConfidence": value}}, "workspace")
    assert state.current.min_confidence == 0.0


async def test_typing_and_invoked_efforts(reset: LanguageClient):
    configure(reset, {"fimServer": {"effort": "medium", "typingEffort": "instant"}})
    uri = "file:///tmp/settings/efforts.py"
    open_document(reset, uri, "count = ")
    before = (await stats(reset))["modelCallsByEffort"]
    await inline(reset, uri, 0, 8, invoked=False)
    open_document(reset, uri + ".invoked.py", "amount = ")
    await inline(reset, uri + ".invoked.py", 0, 9, invoked=True)
    after = (await stats(reset))["modelCallsByEffort"]
    assert after.get("instant", 0) == before.get("instant", 0) + 1
    assert after.get("medium", 0) == before.get("medium", 0) + 1


async def test_invoked_request_skips_typing_result(reset: LanguageClient):
    # The typing request's cheaper suggestion is cached, but an explicit request at that cursor gets its own effort.
    configure(reset, {"fimServer": {"effort": "medium", "typingEffort": "instant"}})
    uri = "file:///tmp/settings/effort_cache.py"
    open_document(reset, uri, "count = ")
    await inline(reset, uri, 0, 8, invoked=False)
    before = (await stats(reset))["modelCallsByEffort"]
    await inline(reset, uri, 0, 8, invoked=True)
    after = (await stats(reset))["modelCallsByEffort"]
    assert after.get("medium", 0) == before.get("medium", 0) + 1
    await inline(reset, uri, 0, 8, invoked=False)  # the medium suggestion serves typing requests too
    assert (await stats(reset))["modelCallsByEffort"] == after


async def test_missing_model_folder(reset: LanguageClient):
    configure(reset, {"fimServer": {"modelPath": "/nonexistent/model"}})
    message = await wait_for_show(reset, "modelPath=\"/nonexistent/model\"")
    assert "no config.json there" in message.message
    assert await suggestions(reset, "file:///tmp/settings/model.py", "total = ", 0, 8) == ["compute_total(items)"]


async def test_model_change_reloads(reset: LanguageClient, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "fim-diffusion"}))
    configure(reset, {"fimServer": {"modelPath": str(tmp_path)}})
    await wait_for_log(reset, f"model ready: {tmp_path}")
    assert (await stats(reset))["cachedSuggestions"] == 0
    configure(reset, {"fimServer": {}})


async def test_settings_pulled_when_pushed_empty(reset: LanguageClient):
    reset.set_configuration({"languages": {"python": False}}, section="fimServer")
    start = len(reset.log_messages)
    configure(reset, None)  # VS Code's pull model: the client asks the server to re-read
    await wait_for_log(reset, "settings from workspace/configuration applied", start=start)
    assert await suggestions(reset, "file:///tmp/settings/pulled.py", "total = ", 0, 8) == []
    reset.set_configuration({}, section="fimServer")
    start = len(reset.log_messages)
    configure(reset, None)
    await wait_for_log(reset, "settings from workspace/configuration applied", start=start)
    assert await suggestions(reset, "file:///tmp/settings/pulled2.py", "total = ", 0, 8) == ["compute_total(items)"]


async def test_layers_unit():
    state = SettingsState(LspSettings(effort="instant"))
    state.update("initializationOptions", {"effort": "high", "maxLines": 3}, "initializationOptions")
    state.update("workspace", {"fimServer": {"effort": "medium"}}, "workspace")
    assert state.current.effort == "medium"
    assert state.current.max_lines == 3
    with pytest.raises(SettingsError, match="debounceMaxMs=6000: use a whole number from 0 to 5000"):
        state.update("workspace", {"debounceMaxMs": 6000}, "workspace")
    # The new workspace layer replaces the old one. It contains no effort, and its invalid key is left out.
    assert state.current.effort == "high"
    assert state.current.debounce_max_ms == LspSettings().debounce_max_ms
    state.update("workspace", None, "workspace")
    assert state.current.effort == "high"
    assert state.current.language_enabled("rust") is True


@pytest.mark.parametrize("value", [-1, 1.5, "600", True])
async def test_invalid_daemon_idle_timeout_unit(value):
    state = SettingsState(LspSettings())
    with pytest.raises(SettingsError, match=rf"daemonIdleTimeout={re.escape(json.dumps(value))}: use a whole number of seconds >= 0"):
        state.update("workspace", {"fimServer": {"daemonIdleTimeout": value}}, "workspace")
    assert state.current.idle_timeout is None


async def test_daemon_idle_timeout_layers_unit():
    state = SettingsState(LspSettings())
    state.update("initializationOptions", {"daemonIdleTimeout": 0}, "initializationOptions")
    assert state.current.idle_timeout == 0
    state.update("workspace", {"fimServer": {"daemonIdleTimeout": 90}}, "workspace")
    assert state.current.idle_timeout == 90
    state.update("workspace", {"fimServer": {"daemonIdleTimeout": None}}, "workspace")
    assert state.current.idle_timeout is None, "null selects the server's own setting"


async def test_invalid_key_keeps_last_value_unit():
    state = SettingsState(LspSettings())
    state.update("workspace", {"fimServer": {"minConfidence": 0.3, "maxLines": 4}}, "workspace")
    with pytest.raises(PartlyAppliedSettings, match=r"minConfidence=1\.5: use a number from 0 to 1") as raised:
        state.update("workspace", {"fimServer": {"effort": "high", "minConfidence": 1.5}}, "workspace")
    assert state.current.effort == "high"
    assert state.current.min_confidence == 0.3
    assert state.current.max_lines == LspSettings().max_lines, "a key the new layer leaves out is not kept"
    assert raised.value.previous.effort == LspSettings().effort
