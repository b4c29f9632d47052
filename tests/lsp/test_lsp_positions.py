"""Position encodings: UTF-16 (default), UTF-8 and UTF-32 with non-BMP emoji and CRLF lines."""

import pytest
import pytest_lsp
from lsprotocol import types
from lsp_helpers import (
    FAST_ENGINE,
    fixture_text,
    initialize_params,
    inline,
    insert_text,
    items_of,
    open_document,
    server_config,
    start_session,
)
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="session")

EMOJI_LINE = 5  # '    return f"🎉 {name} 🎉" + ' in fixtures/documents/emoji.py


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest_lsp.fixture(config=server_config(FAST_ENGINE), loop_scope="session")
async def utf32_client(lsp_client: LanguageClient):
    params = initialize_params("neovim_0.11", general__positionEncodings=["utf-32"])
    lsp_client.initialize_result = await start_session(lsp_client, params)
    yield
    await lsp_client.shutdown_session()


async def test_emoji_line_end_in_utf16(vscode: LanguageClient):
    uri = "file:///tmp/positions/emoji16.py"
    text = fixture_text("emoji.py")
    line = text.split("\n")[EMOJI_LINE]
    assert utf16_length(line) == len(line) + 2  # two emoji, each two UTF-16 code units
    open_document(vscode, uri, text)
    [item] = items_of(await inline(vscode, uri, EMOJI_LINE, utf16_length(line)))
    assert item.insert_text == '"🐍" + name'
    assert item.range.start == types.Position(line=EMOJI_LINE, character=utf16_length(line))


async def test_utf16_column_past_line_end(vscode: LanguageClient):
    uri = "file:///tmp/positions/past_end.py"
    text = fixture_text("emoji.py")
    line = text.split("\n")[EMOJI_LINE]
    open_document(vscode, uri, text)
    with pytest.raises(Exception, match=f"line {EMOJI_LINE} is {utf16_length(line)} utf-16 code units long"):
        await inline(vscode, uri, EMOJI_LINE, utf16_length(line) + 1)


async def check_edit_after_emoji(client: LanguageClient, uri: str, after_emoji: int) -> None:
    """Insert "X" right after the emoji in 's = "🐍"' at column ``after_emoji`` and complete after it.

    A server that read the column as a code-point index would insert after the
    closing quote instead, and the scripted rule for "🐍X" would not match.
    """
    open_document(client, uri, 's = "🐍"\n')
    insert_text(client, uri, 2, 0, after_emoji, "X")
    [item] = items_of(await inline(client, uri, 0, after_emoji + 1))
    assert item.insert_text == "inside_string"
    assert item.range.start == types.Position(line=0, character=after_emoji + 1)


async def test_utf16_edit_after_emoji(vscode: LanguageClient):
    await check_edit_after_emoji(vscode, "file:///tmp/positions/edit16.py", 7)  # the emoji is UTF-16 columns 5-6


async def test_utf8_edit_after_emoji(neovim: LanguageClient):
    await check_edit_after_emoji(neovim, "file:///tmp/positions/edit8.py", 9)  # the emoji is UTF-8 bytes 5-8


async def test_emoji_line_end_in_utf8(neovim: LanguageClient):
    uri = "file:///tmp/positions/emoji8.py"
    text = fixture_text("emoji.py")
    line = text.split("\n")[EMOJI_LINE]
    open_document(neovim, uri, text)
    [item] = items_of(await inline(neovim, uri, EMOJI_LINE, len(line.encode("utf-8"))))
    assert item.insert_text == '"🐍" + name'
    assert item.range.start.character == len(line.encode("utf-8"))


async def test_utf32_negotiated_and_used(utf32_client: LanguageClient):
    assert utf32_client.initialize_result.capabilities.position_encoding == types.PositionEncodingKind.Utf32
    await check_edit_after_emoji(utf32_client, "file:///tmp/positions/edit32.py", 6)  # one code point per emoji


async def test_crlf_lines(vscode: LanguageClient):
    uri = "file:///tmp/positions/crlf.py"
    open_document(vscode, uri, "items = []\r\ntotal = \r\nprint(total)\r\n")
    [item] = items_of(await inline(vscode, uri, 1, 8))
    assert item.insert_text == "compute_total(items)"
    assert item.range.start == types.Position(line=1, character=8)
    with pytest.raises(Exception, match="line 1 is 8 utf-16 code units long"):
        await inline(vscode, uri, 1, 9)  # the \r is not part of the line
