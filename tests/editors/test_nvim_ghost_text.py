"""Ghost text in Neovim: type, see the suggestion, accept all of it, a word or a line."""

from __future__ import annotations

from nvim_session import engine_script

RULES = [
    {"after": "def add(a, b):\n    ", "text": "return a + b"},
    {"after": "def pair():\n    ", "text": "first = 1\n    second = 2\n    return first, second"},
]


def start_python(start_nvim, tmp_path, text: str, **options):
    session = start_nvim(engine_script(rules=RULES, text=""))
    session.setup(**options)
    session.open(tmp_path / "example.py", text)
    session.wait_attached()
    return session


def test_typed_prefix_shows_ghost_text(start_nvim, tmp_path):
    session = start_python(start_nvim, tmp_path, "")
    session.feed("idef add(a, b):<CR>")
    assert session.wait_ghost() == ["return a + b"]
    assert session.lines() == ["def add(a, b):", "    "]


def test_accept_inserts_whole_suggestion(start_nvim, tmp_path):
    session = start_python(start_nvim, tmp_path, "")
    session.feed("idef add(a, b):<CR>")
    session.wait_ghost()
    session.feed("<M-y>")
    session.wait_for(lambda: session.lines()[1] == "    return a + b", "the accepted text")
    assert session.cursor() == (2, len("    return a + b"))
    assert session.mode() == "i"
