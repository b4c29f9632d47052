"""An invalid server flag is reported and left out; the valid flags beside it still apply."""

import pytest
import pytest_lsp
from lsp_helpers import FAST_ENGINE, initialize_params, inline, items_of, open_document, server_config, start_session
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


# The scripted engine gives every candidate a confidence of 0.9, so a floor of 0.95 hides it.
@pytest_lsp.fixture(config=server_config(FAST_ENGINE, "--min-confidence", "0.95", "--effort", "turbo"),
                    scope="module")
async def client(lsp_client: LanguageClient):
    await start_session(lsp_client, initialize_params("neovim_0.11"))
    yield
    await lsp_client.shutdown_session()


async def test_bad_flag_reported_others_kept(client: LanguageClient):
    [shown] = [m for m in client.messages if "--effort" in m.message]
    assert shown.type == types.MessageType.Error
    assert "invalid effort 'turbo' in --effort: use one of instant, low, medium, high" in shown.message
    assert "min_confidence" not in shown.message
    uri = "file:///tmp/startup/floor_kept.py"
    open_document(client, uri, "total = ")
    assert items_of(await inline(client, uri, 0, 8)) == []
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimServer": {"minConfidence": 0.5}}))
    assert [item.insert_text for item in items_of(await inline(client, uri, 0, 8))] == ["compute_total(items)"]
