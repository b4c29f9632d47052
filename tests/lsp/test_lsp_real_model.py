"""End to end with the bundled diffusion model in the server process (no test engine)."""

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from lsp_helpers import (
    fixture_text,
    initialize_params,
    inline,
    inline_params,
    insert_text,
    items_of,
    open_document,
    server_config,
    start_session,
    stats,
)
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

BUNDLED_MODEL = Path(__file__).resolve().parents[2] / "models" / "fim-diffusion-small"
SPECIAL_TOKENS = ("<|eom|>", "<|mask|>", "<|pad|>")

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(not (BUNDLED_MODEL / "config.json").is_file(),
                       reason=f"bundled model missing at {BUNDLED_MODEL}: the first training evaluation exports it"),
]


@pytest_lsp.fixture(config=server_config(None), scope="module")
async def model_client(lsp_client: LanguageClient):
    await start_session(lsp_client, initialize_params("vscode_1.101", initialization_options={"effort": "low"}))
    yield
    await lsp_client.shutdown_session()


async def wait_for_stats(client: LanguageClient, condition, timeout: float = 120.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    current = await stats(client)
    while not condition(current) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
        current = await stats(client)
    return current


async def test_suggestion_from_bundled_model(model_client: LanguageClient):
    uri = "file:///tmp/model/sample.py"
    open_document(model_client, uri, fixture_text("sample.py"))
    items = items_of(await inline(model_client, uri, 8, 4))
    current = await stats(model_client)
    assert current["engine"] == "diffusion"
    assert current["engineThread"]["kind"] == "diffusion"
    assert current["engineThread"]["fills"] == 1
    assert len(items) <= 1
    for item in items:
        assert item.range.start == types.Position(line=8, character=4)
        assert item.insert_text.strip()
        assert not any(token in item.insert_text for token in SPECIAL_TOKENS)
        assert item.insert_text.count("\n") < 20  # maxLines


PROMPTS = [
    ("def area(radius):\n    return ", 1, 11),
    ("import os\n\npath = os.path.", 2, 15),
    ("items = [1, 2, 3]\ntotal = ", 1, 8),
    ("for index in range(", 0, 19),
]


async def test_type_through_with_bundled_model(model_client: LanguageClient):
    for number, (text, line, character) in enumerate(PROMPTS):
        uri = f"file:///tmp/model/type_through{number}.py"
        open_document(model_client, uri, text)
        items = items_of(await inline(model_client, uri, line, character))
        if items and len(items[0].insert_text) >= 2 and items[0].insert_text[0] != "\n":
            break
    else:
        pytest.skip(f"the bundled model made no suggestion of two or more characters for {len(PROMPTS)} prompts")
    suggestion = items[0].insert_text
    before = await stats(model_client)
    insert_text(model_client, uri, 2, line, character, suggestion[0])
    [rest] = items_of(await inline(model_client, uri, line, character + 1))
    after = await stats(model_client)
    assert rest.insert_text == suggestion[1:]
    assert after["engineThread"]["fills"] == before["engineThread"]["fills"]


async def test_cancel_stops_bundled_model(model_client: LanguageClient):
    uri = "file:///tmp/model/cancel.py"
    open_document(model_client, uri, fixture_text("sample.py"))
    model_client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimServer": {"effort": "high"}}))
    before = await stats(model_client)
    future = model_client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION,
                                                inline_params(uri, 8, 4), msg_id="model-cancel")
    await wait_for_stats(model_client, lambda s: s["engineThread"]["busy"])
    model_client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="model-cancel"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wrap_future(future)
    after = await wait_for_stats(
        model_client, lambda s: s["engineThread"]["cancelledFills"] > before["engineThread"]["cancelledFills"])
    assert after["engineThread"]["cancelledFills"] == before["engineThread"]["cancelledFills"] + 1
    assert after["engineThread"]["fills"] == before["engineThread"]["fills"]
    assert after["engineThread"]["busy"] is False
