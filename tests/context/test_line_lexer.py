"""The cursor-line lexer: strings, escapes and comments, checked against a plain character loop."""

import random

import pytest

from fim_server.context.cursor import scan_line
from fim_server.context.languages import quote_characters

MARKERS = {"python": ("#",), None: ("#", "//")}


def reference_scan(line_text: str, language: str | None) -> tuple[str | None, int]:
    """Lex one character at a time, the obvious way."""
    markers = MARKERS.get(language, ("//",))
    quotes = quote_characters(language)
    quote = None
    index = 0
    while index < len(line_text):
        ch = line_text[index]
        if quote is not None:
            if ch == "\\":
                index += 1
            elif ch == quote:
                quote = None
        elif ch in quotes:
            quote = ch
        elif any(line_text.startswith(marker, index) for marker in markers):
            return "comment", index
        index += 1
    return ("string" if quote is not None else None), len(line_text)


@pytest.mark.parametrize("language", ["python", "javascript", "rust", "go", None])
def test_matches_character_loop(language):
    rng = random.Random(5)
    alphabet = "ab /#\\\"'`"
    for _ in range(3000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert scan_line(line, language) == reference_scan(line, language), (line, language)


@pytest.mark.parametrize(("line", "language", "expected"), [
    ('x = "a # b" # note', "python", ("comment", 12)),
    ("s = 'it\\'s", "python", ("string", 10)),
    ("url = `http://host` // go", "javascript", ("comment", 20)),
    ("let c = 'x", "rust", (None, 10)),
    ("path = 'C:\\\\' + ", "python", (None, 16)),
])
def test_examples(line, language, expected):
    assert scan_line(line, language) == expected


def test_long_minified_line():
    line = 'var a="x";' * 200_000 + "/* tail"
    assert scan_line(line, "javascript") == (None, len(line))
    assert scan_line(line + ' "open', "javascript") == ("string", len(line) + 6)
    assert scan_line(line + " // note", "javascript") == ("comment", len(line) + 1)
