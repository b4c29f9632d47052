"""Syntax validity: errors a candidate adds near the cursor, per language."""

import pytest

from fim_server.context import syntax_error_delta
from fim_server.context.validity import count_errors
from fim_server.context.document import Document

# (language, snippet, a candidate that fits, a candidate that breaks the code)
CASES = [
    ("python", "def f(x):\n    return |\n\nprint(f(1))\n", "x + 1", "x + (1"),
    ("javascript", "function f(x) {\n  return |;\n}\n", "x * 2", "x * * 2"),
    ("typescript", "function f(x: number): number {\n  const y = |;\n  return y;\n}\n", "x + 1", "x +"),
    ("tsx", "export const A = () => <div>{|}</div>;\n", "count", "count)"),
    ("go", "package main\n\nfunc f(x int) int {\n\treturn |\n}\n", "x + 1", "x + + )"),
    ("rust", "fn f(x: i32) -> i32 {\n    let y = |;\n    y\n}\n", "x + 1", "x + ]"),
    ("java", "class A {\n  int f(int x) {\n    return |;\n  }\n}\n", "x + 1", "x + ) 1"),
    ("c", "int f(int x) {\n  return |;\n}\n", "x + 1", "x +* ( 1"),
    ("cpp", "int f(int x) {\n  auto y = |;\n  return y;\n}\n", "x * 2", "x * {"),
]


@pytest.mark.parametrize("language, snippet, good, bad", CASES, ids=[case[0] for case in CASES])
def test_broken_candidate_adds_errors(window_at, language, snippet, good, bad):
    window = window_at(language, snippet, mode="line")
    good_delta = syntax_error_delta(window, good)
    bad_delta = syntax_error_delta(window, bad)
    assert good_delta <= 0
    assert bad_delta > good_delta


def test_broken_candidate_in_clean_code_is_positive(window_at):
    window = window_at("python", "def f(x):\n    return |\n\nprint(f(1))\n", mode="line")
    assert syntax_error_delta(window, "x + 1") == 0
    assert syntax_error_delta(window, "x + (1") > 0


def test_candidate_that_completes_code_removes_errors(window_at):
    window = window_at("python", "def f(x):\n    return g(x|\n\nprint(f(1))\n", mode="line")
    assert syntax_error_delta(window, ")") < 0


def test_replace_range_counted(window_at):
    window = window_at("python", "print(|)\nx = 1\n", mode="line")
    assert syntax_error_delta(window, '"hi")', replace_chars=1) <= 0
    assert syntax_error_delta(window, '"hi")') > 0


def test_line_based_fallback_has_no_delta(window_at):
    window = window_at("ini", "[a]\nkey = |\n")
    assert syntax_error_delta(window, "value") is None


def test_errors_far_from_cursor_not_counted():
    text = "def broken(:\n    pass\n" + "x = 1\n" * 200 + "y = 2\n"
    root = Document(text, "python").tree.root_node
    cursor = len(text.encode()) - 2
    assert count_errors(root, 0, len(text)) >= 1
    assert count_errors(root, cursor - 50, cursor) == 0
