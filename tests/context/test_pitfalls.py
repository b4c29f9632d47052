"""Failures users report in completion servers, each as a case this package must handle."""

from fim_server.context import Document, extract_window, postprocess
from fim_server.context.document import DocumentCache


def test_ghost_text_repeating_following_lines(window_at):
    window = window_at("python", "def total(items):\n    |\n    return result\n")
    done = postprocess("result = sum(items)\n    return result", window)
    assert done.text == "result = sum(items)"


def test_wrong_indentation_on_blank_line(window_at):
    window = window_at("python", "class A:\n    def f(self):\n        |\n")
    assert postprocess("        return 1", window).text == "return 1"


def test_wrong_indentation_in_two_space_file(window_at):
    snippet = "function f(xs) {\n  if (xs) {\n    g();\n  }\n  |\n}\n"
    done = postprocess("for (const x of xs) {\n      use(x);\n  }", window_at("javascript", snippet))
    assert done.text == "for (const x of xs) {\n    use(x);\n  }"


def test_leading_space_after_assignment(window_at):
    assert postprocess(" 42", window_at("go", "func f() {\n\tx := |\n}\n")).text == "42"


def test_duplicated_paren_after_auto_close(window_at):
    done = postprocess("total)", window_at("rust", "fn f() {\n    println!(\"{}\", |);\n}\n"))
    assert done.text == "total)"
    assert done.replace_chars == 1


def test_fim_special_tokens_leaking(window_at):
    done = postprocess("<|fim_middle|>count + 1<|eom|><|pad|><|pad|>", window_at("java", "class A { int n = |; }\n"))
    assert done.text == "count + 1"


def test_completion_at_column_zero_of_empty_line(window_at):
    window = window_at("c", "#include <stdio.h>\n\n|\n")
    assert window.mode == "block"
    assert postprocess("int main(void) {\n  return 0;\n}", window).rejected is None


def test_memory_bounded_across_many_documents():
    cache = DocumentCache(max_entries=4)
    for number in range(50):
        with cache.use(f"x{number} = {number}\n", "python", f"file{number}.py"):
            pass
    assert len(cache._entries) == 4


def test_utf16_columns_are_not_string_indexes():
    document = Document('s = "😀😀"; t = 1\n', "python")
    # `t` is code point 10 but UTF-16 column 12, because each emoji takes two code units
    offset = document.position_to_offset(0, 12)
    assert offset == 10
    assert document.text[offset] == "t"
    window = extract_window(document.text, offset + 1, "python", document=document)
    assert window.line_prefix == 's = "😀😀"; t'
