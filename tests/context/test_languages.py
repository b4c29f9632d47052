import pytest

from fim_server.context import detect_language
from fim_server.context.languages import SUPPORTED, grammar, new_parser, quote_characters, syntax

SAMPLES = {
    "python": "def f(x):\n    return x\n",
    "javascript": "function f(x) { return <b>{x}</b>; }\n",
    "typescript": "function f(x: number): number { return x; }\n",
    "tsx": "const A = (p: Props) => <div>{p.x}</div>;\n",
    "go": "package main\n\nfunc f(x int) int { return x }\n",
    "rust": "fn f(x: i32) -> i32 { x }\n",
    "java": "class A { int f(int x) { return x; } }\n",
    "c": "int f(int x) { return x; }\n",
    "cpp": "template <typename T> T f(T x) { return x; }\n",
}


@pytest.mark.parametrize("language", SUPPORTED)
def test_grammar_parses_sample(language):
    tree = new_parser(language).parse(SAMPLES[language].encode())
    assert not tree.root_node.has_error
    assert grammar(language) is grammar(language)
    assert syntax(language).containers


@pytest.mark.parametrize(
    "language_id, path, expected",
    [
        ("python", None, "python"),
        ("typescriptreact", "a.tsx", "tsx"),
        ("javascriptreact", None, "javascript"),
        ("CPP", None, "cpp"),
        (None, "src/main.rs", "rust"),
        (None, "lib/util.H", "c"),
        (None, "x.hpp", "cpp"),
        ("plaintext", "notes.go", "go"),
        ("go", "main.py", "go"),
        ("markdown", "README.md", None),
        (None, None, None),
    ],
)
def test_detect_language(language_id, path, expected):
    assert detect_language(language_id, path) == expected


def test_unknown_grammar_rejected():
    with pytest.raises(ValueError, match="no tree-sitter grammar for 'cobol'"):
        grammar("cobol")


def test_rust_quotes_leave_out_lifetimes():
    assert "'" not in quote_characters("rust")
    assert "`" in quote_characters("javascript")
