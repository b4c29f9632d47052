"""textDocument/inlineCompletion as VS Code uses it: open, edit, request."""

import pytest
from lsprotocol import types
from lsp_helpers import fixture_text, inline, inline_params, insert_text, items_of, open_document, stats
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_capabilities_for_vscode(vscode: LanguageClient):
    capabilities = vscode.initialize_result.capabilities
    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is None  # VS Code shows ghost text itself
    assert capabilities.position_encoding == types.PositionEncodingKind.Utf16
    sync = capabilities.text_document_sync
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert sync.open_close is True
    assert vscode.initialize_result.server_info.name == "fim-server"


async def test_request_after_open(vscode: LanguageClient):
    uri = "file:///tmp/inline/open.py"
    open_document(vscode, uri, fixture_text("sample.py"))
    items = items_of(await inline(vscode, uri, 8, 4))
    assert len(items) == 1
    assert items[0].insert_text == "return a + b"
    assert items[0].range == types.Range(start=types.Position(line=8, character=4),
                                         end=types.Position(line=8, character=4))


async def test_request_after_edit(vscode: LanguageClient):
    uri = "file:///tmp/inline/edit.py"
    open_document(vscode, uri, "items = [1, 2]\n\n")
    insert_text(vscode, uri, 2, 1, 0, "total = ")
    items = items_of(await inline(vscode, uri, 1, 8))
    assert [item.insert_text for item in items] == ["compute_total(items)"]
    assert items[0].range.start == types.Position(line=1, character=8)


async def test_repeated_request_hits_cache(vscode: LanguageClient):
    uri = "file:///tmp/inline/repeat.py"
    open_document(vscode, uri, "items = []\ntotal = ")
    first = items_of(await inline(vscode, uri, 1, 8))
    before = await stats(vscode)
    second = items_of(await inline(vscode, uri, 1, 8))
    after = await stats(vscode)
    assert [item.insert_text for item in second] == [item.insert_text for item in first]
    assert after["modelCalls"] == before["modelCalls"]
    assert after["outcomes"]["exact"] == before["outcomes"].get("exact", 0) + 1


async def test_typing_through_suggestion(vscode: LanguageClient):
    uri = "file:///tmp/inline/type_through.py"
    open_document(vscode, uri, "items = []\ntotal = ")
    assert [item.insert_text for item in items_of(await inline(vscode, uri, 1, 8))] == ["compute_total(items)"]
    before = await stats(vscode)
    version = 2
    for column, character in enumerate("comp", start=8):
        insert_text(vscode, uri, version, 1, column, character)
        version += 1
        items = items_of(await inline(vscode, uri, 1, column + 1, invoked=False))
        assert [item.insert_text for item in items] == ["compute_total(items)"[column - 7 :]]
        assert items[0].range.start == types.Position(line=1, character=column + 1)
    after = await stats(vscode)
    assert after["modelCalls"] == before["modelCalls"]
    assert after["outcomes"]["type_through"] - before["outcomes"].get("type_through", 0) == 4


async def test_diverging_keystroke_calls_model(vscode: LanguageClient):
    uri = "file:///tmp/inline/diverge.py"
    open_document(vscode, uri, "items = []\ntotal = ")
    await inline(vscode, uri, 1, 8)
    before = await stats(vscode)
    insert_text(vscode, uri, 2, 1, 8, "x")
    items = items_of(await inline(vscode, uri, 1, 9))
    after = await stats(vscode)
    assert [item.insert_text for item in items] == ["fake_completion()"]
    assert after["modelCalls"] == before["modelCalls"] + 1


async def test_accept_starts_speculative_call(vscode: LanguageClient):
    uri = "file:///tmp/inline/accept.py"
    open_document(vscode, uri, "items = []\ntotal = ")
    [item] = items_of(await inline(vscode, uri, 1, 8))
    before = await stats(vscode)
    insert_text(vscode, uri, 2, 1, 8, item.insert_text)  # the client applies the accepted item
    end = 8 + len(item.insert_text)
    # Editors send the request after an accept automatically, so it has the typing effort of the speculative call.
    items = items_of(await inline(vscode, uri, 1, end, invoked=False))
    after = await stats(vscode)
    assert after["accepts"] == before["accepts"] + 1
    assert after["speculativeCalls"] == before["speculativeCalls"] + 1
    assert [i.insert_text for i in items] == ["fake_completion()"]
    served_by = sum(after["outcomes"].get(kind, 0) - before["outcomes"].get(kind, 0) for kind in ("exact", "joined"))
    assert served_by == 1  # served by the speculative call, not a second model call
    assert after["modelCalls"] == before["modelCalls"] + 1


async def test_edit_that_is_not_an_accept(vscode: LanguageClient):
    uri = "file:///tmp/inline/not_accept.py"
    open_document(vscode, uri, "items = []\ntotal = ")
    await inline(vscode, uri, 1, 8)
    before = await stats(vscode)
    insert_text(vscode, uri, 2, 1, 8, "compute")  # only part of the suggestion
    after = await stats(vscode)
    assert after["accepts"] == before["accepts"]
    assert after["speculativeCalls"] == before["speculativeCalls"]


async def test_cursor_inside_word_gets_nothing(vscode: LanguageClient):
    uri = "file:///tmp/inline/inside_word.py"
    open_document(vscode, uri, "value = compute_total(items)\n")
    assert items_of(await inline(vscode, uri, 0, 10)) == []


async def test_close_forgets_document(vscode: LanguageClient):
    uri = "file:///tmp/inline/closed.py"
    open_document(vscode, uri, "total = ")
    assert items_of(await inline(vscode, uri, 0, 8))
    vscode.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    with pytest.raises(Exception, match="document not open"):
        await inline(vscode, uri, 0, 8)


async def test_extends_selected_menu_item(vscode: LanguageClient):
    uri = "file:///tmp/inline/selected.py"
    open_document(vscode, uri, "items = []\ntot")
    selected = types.SelectedCompletionInfo(
        range=types.Range(start=types.Position(line=1, character=0), end=types.Position(line=1, character=3)),
        text="total = ")
    params = inline_params(uri, 1, 3)
    params.context.selected_completion_info = selected
    [item] = items_of(await vscode.text_document_inline_completion_async(params))
    assert item.insert_text == "total = compute_total(items)"
    assert item.range == selected.range


async def test_selected_item_elsewhere_is_ignored(vscode: LanguageClient):
    uri = "file:///tmp/inline/selected_elsewhere.py"
    open_document(vscode, uri, "items = []\ntot")
    params = inline_params(uri, 1, 3)
    params.context.selected_completion_info = types.SelectedCompletionInfo(
        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=5)),
        text="items")
    assert items_of(await vscode.text_document_inline_completion_async(params)) == []
