"""Requests the server cannot serve: a clear empty result or error, and the server stays up."""

import pytest
from lsprotocol import types
from lsp_helpers import inline, items_of, open_document, stats, wait_for_log, wait_for_show
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def assert_still_serving(client: LanguageClient) -> None:
    uri = "file:///tmp/bad/healthy.py"
    open_document(client, uri, "total = ")
    assert [item.insert_text for item in items_of(await inline(client, uri, 0, 8))] != []


async def test_unopened_document(vscode: LanguageClient):
    with pytest.raises(JsonRpcInvalidParams, match="document not open: file:///tmp/bad/never_opened.py"):
        await inline(vscode, "file:///tmp/bad/never_opened.py", 0, 0)
    await assert_still_serving(vscode)


async def test_line_past_end(vscode: LanguageClient):
    uri = "file:///tmp/bad/lines.py"
    open_document(vscode, uri, "a = 1\nb = 2\n")
    with pytest.raises(JsonRpcInvalidParams, match="the document has 3 lines"):
        await inline(vscode, uri, 7, 0)


async def test_character_past_end(vscode: LanguageClient):
    uri = "file:///tmp/bad/columns.py"
    open_document(vscode, uri, "a = 1\n")
    with pytest.raises(JsonRpcInvalidParams, match="line 0 is 5 utf-16 code units long"):
        await inline(vscode, uri, 0, 6)
    await assert_still_serving(vscode)


async def test_ten_megabyte_document(vscode: LanguageClient):
    uri = "file:///tmp/bad/huge.py"
    line = "value_{:07d} = compute(value, 42)  # padding to make a long line\n"
    text = "".join(line.format(number) for number in range(160_000))
    assert len(text.encode("utf-8")) > 10_000_000
    open_document(vscode, uri, text)
    assert items_of(await inline(vscode, uri, 100, 0)) == []
    message = await wait_for_log(vscode, f"no suggestions for {uri}")
    assert "above maxDocumentChars" in message.message
    assert message.type == types.MessageType.Warning
    before = await stats(vscode)
    assert items_of(await inline(vscode, uri, 200, 0)) == []
    after = await stats(vscode)
    assert after["modelCalls"] == before["modelCalls"]
    await assert_still_serving(vscode)


async def test_binary_document(vscode: LanguageClient):
    uri = "file:///tmp/bad/image.py"
    open_document(vscode, uri, "\x89PNG\n\x1a\n\x00\x00\x00IHDR\x00\x00total = ")
    assert items_of(await inline(vscode, uri, 2, 17)) == []
    message = await wait_for_log(vscode, f"no suggestions for {uri}")
    assert "looks binary" in message.message
    await assert_still_serving(vscode)


async def test_edit_with_reversed_range(vscode: LanguageClient):
    uri = "file:///tmp/bad/reversed.py"
    open_document(vscode, uri, "a = 1\nb = 2\n")
    vscode.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=1, character=3), end=types.Position(line=0, character=1)),
            text="x")]))
    message = await wait_for_show(vscode, f"stopped tracking {uri}")
    assert message.type == types.MessageType.Warning
    with pytest.raises(JsonRpcInvalidParams, match="document not open"):
        await inline(vscode, uri, 0, 0)
    await assert_still_serving(vscode)


async def test_change_to_unopened_document(vscode: LanguageClient):
    vscode.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri="file:///tmp/bad/ghost.py", version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text="x = 1\n")]))
    await assert_still_serving(vscode)


async def test_engine_failure_is_an_error_reply(vscode: LanguageClient):
    uri = "file:///tmp/bad/fails.py"
    open_document(vscode, uri, "explode = ")
    before = await stats(vscode)
    for _ in range(2):
        with pytest.raises(JsonRpcInternalError, match="completion failed: RuntimeError: engine exploded"):
            await inline(vscode, uri, 0, 10)
    after = await stats(vscode)
    assert after["outcomes"]["error"] == before["outcomes"].get("error", 0) + 2
    await assert_still_serving(vscode)
