"""Ghost text in Neovim: type, see the suggestion, accept all of it, a word or a line."""

from __future__ import annotations

import time

import pytest

from nvim_session import engine_script

RULES = [
    {"after": "def add(a, b):\n    ", "text": "return a + b"},
    {"after": "def pair():\n    ", "text": "first = 1\n    second = 2\n    return first, second"},
    {"after": 'label = "😀😀" + ', "text": "name"},
]


@pytest.fixture(scope="module")
def shared(start_shared_nvim):
    session = start_shared_nvim(engine_script(rules=RULES, text=""))
    session.setup()
    return session


@pytest.fixture
def session(shared, tmp_path):
    """The shared Neovim with a new empty Python buffer; the buffer is wiped afterwards."""
    shared.open(tmp_path / "example.py", "")
    shared.wait_attached()
    yield shared
    shared.feed("<Esc>")
    shared.wait_for(lambda: shared.mode() == "n", "normal mode")
    shared.nvim.command("FimServer enable")
    shared.nvim.command("bwipeout!")


def test_typed_prefix_shows_ghost_text(session):
    session.feed("idef add(a, b):<CR>")
    assert session.wait_ghost() == ["return a + b"]
    assert session.lines() == ["def add(a, b):", "    "]


def test_accept_inserts_whole_suggestion(session):
    session.feed("idef add(a, b):<CR>")
    session.wait_ghost()
    session.feed("<M-y>")
    session.wait_for(lambda: session.lines()[1] == "    return a + b", "the accepted text")
    assert session.cursor() == (2, len("    return a + b"))
    assert session.mode() == "i"


def test_accept_word_keeps_the_rest(session):
    session.feed("idef add(a, b):<CR>")
    session.wait_ghost()
    session.feed("<M-w>")
    session.wait_for(lambda: session.lines()[1] == "    return", "the first word")
    assert session.ghost() == [" a + b"]
    session.feed("<M-w>")
    session.wait_for(lambda: session.lines()[1] == "    return a", "the second word")
    assert session.ghost() == [" + b"]
    assert session.cursor() == (2, len("    return a"))


def test_accept_line_by_line(session):
    session.feed("idef pair():<CR>")
    assert session.wait_ghost() == ["first = 1", "    second = 2", "    return first, second"]
    session.feed("<M-n>")
    session.wait_for(lambda: session.lines()[1] == "    first = 1", "the first line")
    assert session.ghost() == ["", "    second = 2", "    return first, second"]
    session.feed("<M-n>")
    session.wait_for(lambda: len(session.lines()) == 3, "the second line")
    assert session.lines() == ["def pair():", "    first = 1", "    second = 2"]
    assert session.cursor() == (3, len("    second = 2"))
    session.feed("<M-y>")
    session.wait_for(lambda: len(session.lines()) == 4, "the rest")
    assert session.lines()[3] == "    return first, second"


def test_dismiss_clears_ghost_text(session):
    session.feed("idef add(a, b):<CR>")
    session.wait_ghost()
    session.feed("<M-e>")
    session.wait_for(lambda: session.ghost() == [], "the ghost text to go")
    assert session.lines() == ["def add(a, b):", "    "]


def test_leaving_insert_mode_clears_ghost_text(session):
    session.feed("idef add(a, b):<CR>")
    session.wait_ghost()
    session.feed("<Esc>")
    session.wait_for(lambda: session.ghost() == [], "the ghost text to go")
    assert session.mode() == "n"


def test_typing_the_suggestion_keeps_the_rest(session):
    # Typing the next characters of the suggestion keeps the rest of it on screen.
    session.feed("idef add(a, b):<CR>")
    session.wait_ghost()
    session.feed("ret")
    session.wait_for(lambda: session.lines()[1] == "    ret", "the typed text")
    assert session.ghost() == ["urn a + b"]
    session.feed("<M-y>")
    session.wait_for(lambda: session.lines()[1] == "    return a + b", "the accepted text")


def test_typing_something_else_clears(session):
    session.feed("idef add(a, b):<CR>")
    session.wait_ghost()
    session.feed("x")
    session.wait_for(lambda: session.lines()[1] == "    x", "the typed text")
    session.wait_for(lambda: session.ghost() == [], "the ghost text to go")


def test_emoji_before_cursor(session):
    # Each emoji is 4 bytes in the buffer and 2 UTF-16 code units or 1 code point on the wire.
    session.feed('ilabel = "😀😀" + ')
    assert session.wait_ghost() == ["name"]
    session.feed("<M-y>")
    session.wait_for(lambda: session.lines() == ['label = "😀😀" + name'], "the accepted text")


def test_disabled_plugin_shows_nothing(session):
    session.nvim.command("FimServer disable")
    assert session.status() == "fim off"
    session.feed("idef add(a, b):<CR>")
    session.wait_for(lambda: session.lines() == ["def add(a, b):", "    "], "the typed text")
    time.sleep(1.0)
    assert session.ghost() == []
    session.nvim.command("FimServer enable")
    session.feed("x<BS>")
    assert session.wait_ghost() == ["return a + b"]


def test_manual_trigger_without_auto_trigger(start_nvim, tmp_path):
    session = start_nvim(engine_script(rules=RULES, text=""))
    session.setup(auto_trigger=False)
    session.open(tmp_path / "example.py", "")
    session.wait_attached()
    session.feed("idef add(a, b):<CR>")
    session.wait_for(lambda: session.lines() == ["def add(a, b):", "    "], "the typed text")
    time.sleep(1.0)
    assert session.ghost() == []
    session.feed("<M-t>")
    assert session.wait_ghost() == ["return a + b"]


@pytest.mark.parametrize("encoding, start, end", [("utf-16", 11, 14), ("utf-8", 13, 16), ("utf-32", 10, 13)])
def test_item_range_in_each_encoding(session, encoding, start, end):
    # The item replaces the typed "na" and the auto-inserted ")" after the cursor.
    line = 'show("😀", na)'
    row_col = len('show("😀", na'.encode())
    item = {"insertText": "name)", "range": {"start": {"line": 0, "character": start},
                                            "end": {"line": 0, "character": end}}}
    text, replace_end = session.lua(
        "local text, stop = require('fim_server.completion').fit_item(...) return { text, stop }",
        line, row_col, item, 0, encoding)
    assert text == "me)"
    assert replace_end == len(line.encode())


def test_item_that_does_not_match_typed_text(session):
    item = {"insertText": "other", "range": {"start": {"line": 0, "character": 0},
                                             "end": {"line": 0, "character": 2}}}
    result = session.lua("return { require('fim_server.completion').fit_item(...) }", "na", 2, item, 0, "utf-16")
    assert result == []


def test_accept_replaces_closing_bracket(session):
    session.lua("""
        vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'print(x)' })
        vim.api.nvim_win_set_cursor(0, { 1, 7 })
        vim.cmd('startinsert')
    """)
    session.wait_for(lambda: session.mode() == "i", "insert mode")
    session.lua("""
        require('fim_server.ghost').show({ bufnr = vim.api.nvim_get_current_buf(), row = 0, col = 7, text = ', y)', replace_end_col = 8,
          changedtick = vim.api.nvim_buf_get_changedtick(0) }, 'Comment')
    """)
    session.feed("<M-y>")
    session.wait_for(lambda: session.lines() == ["print(x, y)"], "the accepted text")
    assert session.cursor() == (1, len("print(x, y)"))
