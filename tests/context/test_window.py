"""The prefix/suffix window: token budget, syntax cuts, headers and a stable start."""

import pytest

from fim_server.context import Document, extract_window
from fim_server.context.window import CHARS_PER_TOKEN, PREFIX_TOKENS, SUFFIX_TOKENS

PREFIX_CHARS = int(PREFIX_TOKENS * CHARS_PER_TOKEN)
SUFFIX_CHARS = int(SUFFIX_TOKENS * CHARS_PER_TOKEN)


def python_module(functions: int) -> str:
    return "".join(
        f"def func{i}(a, b):\n    total = a + b\n    scaled = total * {i}\n    return scaled\n\n"
        for i in range(functions)
    )


def test_default_budget_matches_model():
    assert (PREFIX_TOKENS, SUFFIX_TOKENS) == (192, 64)
    assert 3.0 <= CHARS_PER_TOKEN <= 4.0


def test_prefix_and_suffix_within_budget_at_line_boundaries():
    text = python_module(200)
    offset = text.index("scaled = total * 100") + len("scaled = ")
    window = extract_window(text, offset, "python")
    assert window.header == ""
    assert len(window.prefix) <= PREFIX_CHARS
    assert len(window.prefix) >= PREFIX_CHARS // 2
    assert window.prefix_start == 0 or text[window.prefix_start - 1] == "\n"
    assert len(window.suffix) <= SUFFIX_CHARS
    assert window.suffix.endswith("\n")
    assert window.suffix.startswith("total * 100\n")


def test_cut_lands_on_statement_start():
    text = python_module(100)
    offset = text.index("    return scaled", text.index("def func60"))
    window = extract_window(text, offset, "python")
    first_line = window.prefix.split("\n", 1)[0]
    assert first_line.startswith(("def func", "    total", "    scaled", "    return"))


def test_cut_skips_inside_multiline_literal():
    rows = "".join(f"    'key{i}': {i},\n" for i in range(8))
    block = "config = {\n" + rows + "}\n"
    text = (block + "value = 1\n") * 30
    offset = len(text) - len("value = 1\n")
    window = extract_window(text, offset, "python")
    assert not window.prefix.startswith("    'key")


@pytest.mark.parametrize(
    "language, text, marker, header",
    [
        ("python", "class Big:\n    def method(self, a):\n{body}        return a\n", "v70 =",
         "class Big:\n    def method(self, a):\n"),
        ("javascript", "class A {\n  run(x) {\n{body}  }\n}\n", "v70 =", "class A {\n  run(x) {\n"),
        ("go", "func (s *Server) Run(ctx context.Context) error {\n{body}\treturn nil\n}\n", "v70 :=",
         "func (s *Server) Run(ctx context.Context) error {\n"),
        ("rust", "impl Cart {\n    fn total(&self) -> u32 {\n{body}        0\n    }\n}\n", "v70 =",
         "impl Cart {\n    fn total(&self) -> u32 {\n"),
        ("java", "class Cart {\n  int total() {\n{body}    return 0;\n  }\n}\n", "v70 =",
         "class Cart {\n  int total() {\n"),
        ("cpp", "namespace shop {\nint total() {\n{body}  return 0;\n}\n}\n", "v70 =",
         "namespace shop {\nint total() {\n"),
    ],
)
def test_enclosing_headers_prepended(language, text, marker, header):
    statement = {
        "python": "        v{i} = compute({i})\n",
        "javascript": "    const v{i} = compute({i});\n",
        "go": "\tv{i} := compute({i})\n",
        "rust": "        let v{i} = compute({i});\n",
        "java": "    int v{i} = compute({i});\n",
        "cpp": "  int v{i} = compute({i});\n",
    }[language]
    body = "".join(statement.format(i=i) for i in range(90))
    text = text.replace("{body}", body)
    offset = text.index(marker)
    window = extract_window(text, offset, language)
    assert window.header == header
    assert window.prefix.startswith(header)
    assert window.prefix.endswith(text[window.prefix_start : offset])
    assert len(window.prefix) <= PREFIX_CHARS


def test_no_header_when_definition_is_in_window():
    window = extract_window("def f(x):\n    return x\n", len("def f(x):\n    return "), "python")
    assert window.header == ""
    assert window.prefix == "def f(x):\n    return "


def test_prefix_start_stable_while_typing_on_the_line():
    document = Document(python_module(60), "python")
    offset = document.text.index("scaled = total * 40") + len("scaled = ")
    first = extract_window(document.text, offset, "python", document=document)
    for ch in "total * 40 + 1":
        document.replace(offset, offset, ch)
        offset += 1
        window = extract_window(document.text, offset, "python", document=document)
        assert window.prefix_start == first.prefix_start
        assert window.prefix.startswith(first.prefix)


def test_prefix_start_stable_with_cache_key():
    text = python_module(60)
    offset = text.index("scaled = total * 40") + len("scaled = ")
    first = extract_window(text, offset, "python", cache_key="stable.py")
    for typed in ("t", "to", "tot", "tota", "total"):
        grown = text[:offset] + typed + text[offset:]
        window = extract_window(grown, offset + len(typed), "python", cache_key="stable.py")
        assert window.prefix == first.prefix + typed


def test_prefix_start_moves_after_long_growth():
    document = Document(python_module(60), "python")
    offset = document.text.index("scaled = total * 40")
    first = extract_window(document.text, offset, "python", document=document)
    added = "x = 1\n" * 60
    document.replace(offset, offset, added)
    window = extract_window(document.text, offset + len(added), "python", document=document)
    assert window.prefix_start > first.prefix_start
    assert len(window.prefix) <= PREFIX_CHARS


def test_backspace_recuts_prefix():
    document = Document(python_module(60), "python")
    offset = document.text.index("scaled = total * 40") + len("scaled = ")
    extract_window(document.text, offset, "python", document=document)
    document.replace(offset - 1, offset, "")
    window = extract_window(document.text, offset - 1, "python", document=document)
    assert window.prefix.endswith("scaled =")


def test_count_tokens_budget():
    text = python_module(100)
    offset = text.index("def func80")

    def count_words(chunk):
        return len(chunk.split())

    window = extract_window(text, offset, "python", count_tokens=count_words, prefix_tokens=40, suffix_tokens=10)
    assert count_words(window.prefix) <= 40
    assert count_words(window.prefix) >= 30
    assert count_words(window.suffix) <= 10


def test_character_budgets_override():
    text = python_module(50)
    window = extract_window(text, len(text) // 2, "python", prefix_chars=100, suffix_chars=50)
    assert len(window.prefix) <= 100
    assert len(window.suffix) <= 50


def test_long_single_line_cut_inside_line():
    text = "x = [" + ", ".join(str(i) for i in range(2000)) + "]\n"
    offset = len(text) - 2
    window = extract_window(text, offset, "python")
    assert len(window.prefix) == PREFIX_CHARS
    assert window.suffix == "]\n"


def test_crlf_document_window():
    text = "def f(x):\r\n    y = x\r\n    return y\r\n"
    offset = text.index("return") + len("return ")
    window = extract_window(text, offset, "python")
    assert window.line_prefix == "    return "
    assert window.line_suffix == "y"
    assert window.prefix == text[:offset]


def test_unsupported_language_line_based():
    text = "[section]\nkey = value\nother = |\n".replace("|", "")
    window = extract_window(text, len(text) - 1, "ini")
    assert window.language is None
    assert window.mode == "line"
    assert window.prefix == text[:-1]


def test_offset_outside_document_rejected():
    with pytest.raises(ValueError, match="cursor offset 99 is outside the document"):
        extract_window("abc", 99, "python")


def test_document_with_other_text_rejected():
    with pytest.raises(ValueError, match="does not hold the given text"):
        extract_window("abc", 1, "python", document=Document("xyz", "python"))


@pytest.mark.parametrize(
    "language, snippet, unit",
    [
        ("python", "def f():\n  if x:\n    y = 1\n  |\n", "  "),
        ("go", "func f() {\n\tif x {\n\t\ty()\n\t}\n\t|\n}\n", "\t"),
        ("java", "class A {\n    void f() {\n        |\n    }\n}\n", "    "),
        ("javascript", "x = 1\n|\n", "  "),
    ],
)
def test_indent_unit_detected(window_at, language, snippet, unit):
    assert window_at(language, snippet).indent_unit == unit


def test_expected_indent_after_header(window_at):
    assert window_at("python", "def f():\n|\n").indent == "    "
    assert window_at("go", "func f() {\n|\n}\n").indent == "\t"
    assert window_at("python", "def f():\n  |\n").indent == "  "


def test_large_budget_parses_enough_code():
    text = python_module(400)
    offset = text.index("def func300")
    window = extract_window(text, offset, "python", prefix_chars=9000, suffix_chars=4000)
    assert 8000 <= len(window.prefix) <= 9000
    assert window.prefix.startswith(("def func", "    total", "    scaled", "    return"))
    assert window.suffix.endswith("\n")
    assert 3000 <= len(window.suffix) <= 4000


def test_prefix_start_stable_with_token_counter():
    document = Document(python_module(60), "python")
    offset = document.text.index("scaled = total * 40") + len("scaled = ")

    def count_words(chunk):
        return len(chunk.split())

    first = extract_window(document.text, offset, "python", document=document, count_tokens=count_words)
    for ch in "total + 1":
        document.replace(offset, offset, ch)
        offset += 1
        window = extract_window(document.text, offset, "python", document=document, count_tokens=count_words)
        assert window.prefix_start == first.prefix_start
