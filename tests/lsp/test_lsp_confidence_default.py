"""The server's own confidence floor (``--min-confidence``) is the default that editor settings override."""

import pytest
import pytest_lsp
from lsprotocol import types
from lsp_helpers import FAST_ENGINE, initialize_params, inline, items_of, open_document, server_config, start_session
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


# The scripted engine gives every candidate a confidence of 0.9.
@pytest_lsp.fixture(config=server_config(FAST_ENGINE, "--min-confidence", "0.95"), scope="module")
async def client(lsp_client: LanguageClient):
    await start_session(lsp_client, initialize_params("neovim_0.11"))
    yield
    await lsp_client.shutdown_session()


async def suggestions(client: LanguageClient, uri: str) -> list[str]:
    open_document(client, uri, "total = ")
    return [item.insert_text for item in items_of(await inline(client, uri, 0, 8))]


async def test_server_floor_until_editor_override(client: LanguageClient):
    assert await suggestions(client, "file:///tmp/floor/server_default.py") == []
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimServer": {"minConfidence": 0.5}}))
    assert await suggestions(client, "file:///tmp/floor/editor_lower.py") == ["compute_total(items)"]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"fimServer": {}}))
    assert await suggestions(client, "file:///tmp/floor/editor_reset.py") == []
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimServer": {"minConfidence": 0.5}}))
    assert await suggestions(client, "file:///tmp/floor/editor_lower_again.py") == ["compute_total(items)"]
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimServer": {"minConfidence": None}}))
    assert await suggestions(client, "file:///tmp/floor/editor_null.py") == []
