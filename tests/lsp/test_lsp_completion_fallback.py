"""textDocument/completion for clients without inline completion (Neovim 0.11)."""

import pytest
from lsprotocol import types
from lsp_helpers import fixture_text, open_document
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="session")


def completion_params(uri: str, line: int, character: int) -> types.CompletionParams:
    return types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
    )


async def test_capabilities_for_neovim(neovim: LanguageClient):
    capabilities = neovim.initialize_result.capabilities
    assert capabilities.completion_provider is not None
    assert capabilities.completion_provider.resolve_provider is False
    assert capabilities.inline_completion_provider is not None
    assert capabilities.position_encoding == types.PositionEncodingKind.Utf8  # Neovim lists utf-8 first


async def test_completion_item_at_cursor(neovim: LanguageClient):
    uri = "file:///tmp/fallback/sample.py"
    open_document(neovim, uri, fixture_text("sample.py"))
    result = await neovim.text_document_completion_async(completion_params(uri, 8, 4))
    assert isinstance(result, types.CompletionList)
    assert result.is_incomplete is True
    [item] = result.items
    assert item.text_edit.new_text == "return a + b"
    assert item.text_edit.range == types.Range(start=types.Position(line=8, character=4),
                                               end=types.Position(line=8, character=4))
    assert item.insert_text_format == types.InsertTextFormat.PlainText
    assert item.label == "return a + b"


async def test_completion_item_covers_typed_word(neovim: LanguageClient):
    uri = "file:///tmp/fallback/word.py"
    open_document(neovim, uri, "def add(a, b):\n    ret")
    result = await neovim.text_document_completion_async(completion_params(uri, 1, 7))
    [item] = result.items
    assert item.text_edit.new_text == "return a + b"
    assert item.filter_text == "return a + b"  # still matches the word "ret" that the client filters by
    assert item.text_edit.range.start == types.Position(line=1, character=4)
    assert item.text_edit.range.end == types.Position(line=1, character=7)


async def test_multiline_label_is_first_line():
    from fim_server.lsp.items import label_for

    assert label_for("if x:\n    return 1\n") == "if x:\u2026"
    assert label_for("short") == "short"
    assert label_for("y" * 80).endswith("\u2026")


async def test_no_item_inside_word(neovim: LanguageClient):
    uri = "file:///tmp/fallback/inside.py"
    open_document(neovim, uri, "value = compute_total(items)\n")
    result = await neovim.text_document_completion_async(completion_params(uri, 0, 10))
    assert list(result.items) == []
    assert result.is_incomplete is True
