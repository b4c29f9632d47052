"""Golden cases for each post-processing filter, in several languages.

Each case runs the whole filter chain through ``postprocess`` and checks the
result and that the named filter is the one that changed the text.
"""

import pytest

from fim_server.context import extract_window, postprocess


def run_case(window_at, language, snippet, raw, expected, filter_name, replace_chars=0, **options):
    window = window_at(language, snippet, **options)
    done = postprocess(raw, window)
    assert done.text == expected
    assert filter_name in done.applied
    assert done.replace_chars == replace_chars
    assert done.rejected is None
    return done


SPECIAL_TOKENS = [
    ("python", "x = |\n", "1<|eom|>garbage", "1"),
    ("javascript", "const a = |\n", "<|fim_middle|>42;", "42;"),
    ("go", "func f() int {\n\tx := |\n}\n", "compute()<|endoftext|>\nmore", "compute()"),
    ("rust", "fn f() {\n    let s = |\n}\n", "<|mask|>String::new();<|pad|>", "String::new();"),
    ("java", "class A {\n  int n = |\n}\n", "<PRE>count<EOT>;", "count"),
]



def test_special_token_in_document_is_kept():
    text = 'END = "<|eom|>"\nSTOP = \n'
    window = extract_window(text, len(text) - 1, "python")
    assert postprocess('"<|eom|>"', window).text == '"<|eom|>"'


SINGLE_LINE = [
    ("python", "total = |\n", "a + b\nprint(total)", "a + b"),
    ("c", "int f(void) {\n  int n = |\n}\n", "count(xs);\n  return n;", "count(xs);"),
    ("java", "class A {\n  void f() {\n    String s = |\n  }\n}\n", '"hi";\n    use(s);', '"hi";'),
    ("tsx", "const el = |\n", "<div />;\nexport default el;", "<div />;"),
]



LEADING_SPACE = [
    ("python", "x = |\n", " 1", "1"),
    ("javascript", "let a = |\n", " 5;", "5;"),
    ("go", "func f() {\n\tx := |\n}\n", " 3", "3"),
    ("cpp", "int main() {\n  int a = |\n}\n", "  7;", "7;"),
]



def test_leading_space_kept_without_space_before(window_at):
    window = window_at("python", "x =|\n")
    assert postprocess(" 1", window).text == " 1"


REPETITION = [
    ("python", "def f():\n    |\n", "a = 1\n    b = 2\n    b = 2\n    b = 2", "a = 1\n    b = 2"),
    ("javascript", "const x = |\n", "foo(foo(foo(foo(foo(", "foo("),
    ("rust", "fn f() {\n    |\n}\n", "x += 1;\n    y += 2;\n    x += 1;\n    y += 2;", "x += 1;\n    y += 2;"),
    ("c", "void f(void) {\n  |\n}\n", "count++;\n  count++;\n  count++;\n  count++;", "count++;"),
]



def test_repetition_keeps_repeated_numbers(window_at):
    window = window_at("java", "class A {\n  int[] a = |\n}\n")
    assert postprocess("{0, 0, 0, 0, 0, 0};", window).text == "{0, 0, 0, 0, 0, 0};"


# The editor indents a blank line and the model indents again.
FIRST_LINE_INDENT = [
    ("python", "def f(x):\n    |\n", "    return x", "return x"),
    ("javascript", "function f() {\n  |\n}\n", "  return 1;", "return 1;"),
    ("go", "func f() int {\n\t|\n}\n", "\treturn 1", "return 1"),
    ("python", "def f(x):\n|\n", "        return x", "    return x"),
    ("rust", "fn f() -> i32 {\n|\n}\n", "\t1", "    1"),
]



# The model writes 4 spaces in a 2-space file, spaces in a tab file, tabs in a space file.
INDENTATION_STYLE = [
    (
        "javascript",
        "function f(a) {\n  if (a) {\n    return 1;\n  }\n  |\n}\n",
        "for (const x of a) {\n      use(x);\n  }",
        "for (const x of a) {\n    use(x);\n  }",
    ),
    (
        "python",
        "def f(a):\n  if a:\n    return 1\n  |\n",
        "for x in a:\n      print(x)",
        "for x in a:\n    print(x)",
    ),
    (
        "go",
        "func f(n int) {\n\tif n > 0 {\n\t\treturn\n\t}\n\t|\n}\n",
        "for i := 0; i < n; i++ {\n        use(i)\n    }",
        "for i := 0; i < n; i++ {\n\t\tuse(i)\n\t}",
    ),
    (
        "java",
        "class A {\n    void f() {\n        |\n    }\n}\n",
        "if (x) {\n\t\t\ty();\n\t\t}",
        "if (x) {\n            y();\n        }",
    ),
]



INDENTATION_SCOPE = [
    ("python", "def f(x):\n    |\n", "y = x + 1\n    return y\ndef g():\n    pass", "y = x + 1\n    return y"),
    ("javascript", "function f() {\n  |\n}\nfoo();\n", "a();\n}\nfunction g() {}", "a();"),
    ("c", "int f(int x) {\n  |\n}\n", "x++;\n  return x;\n}\nint g(void) {", "x++;\n  return x;"),
    ("rust", "fn f() {\n    |\n}\n", "let v = 1;\n}\nfn g() {}", "let v = 1;"),
    ("typescript", "class A {\n  run(): void {\n    |\n  }\n}\n", "this.go();\n  }\n  stop() {", "this.go();"),
]



# Ghost text that re-types the lines below the cursor.
SUFFIX_OVERLAP = [
    ("python", "def f(x):\n    |\n    return y\n", "y = x * 2\n    return y", "y = x * 2"),
    ("javascript", "const a = [1, 2];\n|\nconsole.log(total);\n", "const total = sum(a);\nconsole.log(total);",
     "const total = sum(a);"),
    ("go", "func f() {\n\tx := 1\n\t|\n\tfmt.Println(x)\n}\n", "x++\n\tfmt.Println(x)\n\treturn", "x++"),
    ("java", "class A {\n  int f() {\n    |\n    return result;\n  }\n}\n",
     "int result = 0;\n    return result;\n  }", "int result = 0;"),
]



def test_completion_that_only_repeats_next_line_is_rejected(window_at):
    window = window_at("python", "x = 1\n|\nprint(x)\n")
    done = postprocess("print(x)", window)
    assert done.text == ""
    assert done.rejected == "empty after post-processing"


CLOSING_DUPLICATE = [
    ("python", "x = [\n|\n]\n", "1,\n2,\n]", "1,\n2,"),
    ("javascript", "const a = [\n|\n];\n", "1,\n2,\n];", "1,\n2,"),
    ("go", "var a = []int{\n|\n}\n", "1,\n2,\n}", "1,\n2,"),
    ("c", "int a[] = {\n|\n};\n", "1,\n2,\n};", "1,\n2,"),
]



def test_closing_line_the_completion_opened_is_kept(window_at):
    window = window_at("rust", "fn f() {\n|\n}\n")
    assert postprocess("if x {\ny();\n}", window).text.endswith("}")


# Auto-closed characters right of the cursor are replaced, not doubled.
AUTO_CLOSED = [
    ("python", "print(|)\n", '"hi")', '"hi")', 1),
    ("python", 'print("|")\n', 'hi")', 'hi")', 2),
    ("javascript", "foo(|);\n", "a, b);", "a, b)", 1),
    ("rust", "fn f() {\n    let v = vec![|];\n}\n", "1, 2]", "1, 2]", 1),
    ("java", "class A {\n  void f() {\n    list.add(|);\n  }\n}\n", '"x");', '"x")', 1),
    ("go", "func f() {\n\tif x {|}\n}\n", "\n\t\treturn\n\t}", "\n\t\treturn\n\t}", 1),
]


@pytest.mark.parametrize("language, snippet, raw, expected, replace_chars", AUTO_CLOSED)
def test_auto_closed(window_at, language, snippet, raw, expected, replace_chars):
    run_case(window_at, language, snippet, raw, expected, "auto_closed", replace_chars)


@pytest.mark.parametrize("raw", ["a", "bar(a)"])
def test_auto_closed_untouched_when_balanced(window_at, raw):
    done = postprocess(raw, window_at("python", "foo(|)\n"))
    assert done.text == raw
    assert done.replace_chars == 0


LINE_SUFFIX_OVERLAP = [
    ("python", "x = foo(|, b)\n", "a, b)", "a"),
    ("javascript", "const s = compute(|, 2);\n", "1, 2);", "1"),
    ("c", "int main(void) {\n  return |;\n}\n", "0;", "0"),
    ("go", "func f() {\n\tx := |  // note\n}\n", "1  // note", "1"),
]


def test_auto_closed_then_rest_of_line_overlap(window_at):
    done = run_case(window_at, "javascript", "if (|) {\n}\n", "ready) {", "ready)", "auto_closed", 1)
    assert "line_suffix_overlap" in done.applied



TRAILING_WHITESPACE = [
    ("python", "x = |\n", "1   ", "1"),
    ("javascript", "function f() {\n  |\n}\n", "a();  \n  b();\t\n\n\n", "a();\n  b();"),
    ("rust", "fn f() {\n    |\n}\n", "g(); \n", "g();"),
    ("cpp", "int main() {\n  |\n}\n", "run();\n\n", "run();"),
]



def test_max_lines(window_at):
    window = window_at("python", "def f():\n    |\n")
    raw = "\n".join(f"    v{i} = {i}" for i in range(30)).lstrip()
    done = postprocess(raw, window, max_lines=5)
    assert done.text.count("\n") == 4
    assert "max_lines" in done.applied


def test_max_lines_rejects_zero(window_at):
    with pytest.raises(ValueError, match="invalid max_lines 0"):
        postprocess("x", window_at("python", "x = |\n"), max_lines=0)


@pytest.mark.parametrize(
    "language, raw, reason",
    [
        ("python", "", "empty after post-processing"),
        ("javascript", "  \n ", "empty after post-processing"),
        ("c", ";", "too short to be useful: ';'"),
        ("go", ")", "too short to be useful: ')'"),
    ],
)
def test_minimum_length_rejects(window_at, language, raw, reason):
    snippet = {"python": "x = |\n", "javascript": "let a = |\n", "c": "int a = |\n", "go": "var a = |\n"}[language]
    assert postprocess(raw, window_at(language, snippet)).rejected == reason


@pytest.mark.parametrize("raw", ["x", "()", "0"])
def test_minimum_length_accepts(window_at, raw):
    assert postprocess(raw, window_at("python", "y = |\n")).rejected is None


LINE_BREAK_BEFORE_CODE = [
    ("python", "def f(xs):\n    total = 0\n|    return total\n", "    total += len(xs)", "    total += len(xs)\n"),
    ("javascript", "function f(a) {\n|  return a;\n}\n", "  a += 1;\n", "  a += 1;\n"),
    ("go", "func f() int {\n|\treturn n\n}\n", "\tn++", "\tn++\n"),
    ("c", "int f(int n) {\n|  return n;\n}\n", "  n *= 2;", "  n *= 2;\n"),
]


def test_no_line_break_on_blank_or_closing_line(window_at):
    assert postprocess("run()", window_at("python", "def f():\n    |\n")).text == "run()"
    assert postprocess("run()", window_at("javascript", "f(|)\n")).text == "run()"
    assert postprocess("    run()", window_at("python", "def f():\n|)\n")).text == "    run()"


GOLDEN = {
    "special_tokens": SPECIAL_TOKENS,
    "single_line": SINGLE_LINE,
    "leading_space": LEADING_SPACE,
    "repetition": REPETITION,
    "first_line_indent": FIRST_LINE_INDENT,
    "indentation_style": INDENTATION_STYLE,
    "indentation_scope": INDENTATION_SCOPE,
    "suffix_overlap": SUFFIX_OVERLAP,
    "closing_duplicate": CLOSING_DUPLICATE,
    "line_suffix_overlap": LINE_SUFFIX_OVERLAP,
    "trailing_whitespace": TRAILING_WHITESPACE,
    "line_break_before_code": LINE_BREAK_BEFORE_CODE,
}
GOLDEN_CASES = [
    pytest.param(name, *case, id=f"{name}-{case[0]}-{number}")
    for name, cases in GOLDEN.items()
    for number, case in enumerate(cases)
]


@pytest.mark.parametrize("filter_name, language, snippet, raw, expected", GOLDEN_CASES)
def test_golden_case(window_at, filter_name, language, snippet, raw, expected):
    run_case(window_at, language, snippet, raw, expected, filter_name)


def test_every_filter_has_four_languages():
    for name, cases in {**GOLDEN, "auto_closed": AUTO_CLOSED}.items():
        assert len({case[0] for case in cases}) >= 4, name


def test_scope_after_header_keeps_body_only(window_at):
    window = window_at("python", "def f(x):|\n\nprint(f(1))\n")
    done = postprocess("\n    y = x + 1\n    return y\nprint(f(2))", window)
    assert done.text == "\n    y = x + 1\n    return y"
    assert "indentation_scope" in done.applied


# The completion may close the cursor's block when the code after it sits lower,
# but not leave the top-level definition around the cursor.
SCOPE_CLOSES_INNER_BLOCK = [
    ("python", "def f(xs):\n    for x in xs:\n        if x:\n|",
     "            use(x)\n    return xs\n\ndef g():\n    pass", "            use(x)\n    return xs"),
    ("javascript", "function f(xs) {\n  for (const x of xs) {\n    |\n}\n",
     "use(x);\n  }\n  return xs;\n}\nfunction g() {}", "use(x);\n  }\n  return xs;"),
    ("c", "int f(int n) {\n  while (n > 0) {\n    |\n}\n",
     "n--;\n  }\n  return n;\n}\nint g(void) {", "n--;\n  }\n  return n;"),
    ("go", "func f(n int) int {\n\tfor n > 0 {\n\t\t|\n}\n",
     "n--\n\t}\n\treturn n\n}\nfunc g() {}", "n--\n\t}\n\treturn n"),
]


@pytest.mark.parametrize("language, snippet, raw, expected", SCOPE_CLOSES_INNER_BLOCK)
def test_scope_closes_inner_block(window_at, language, snippet, raw, expected):
    assert postprocess(raw, window_at(language, snippet, mode="block")).text == expected


def test_scope_stops_before_same_level_code(window_at):
    window = window_at("python", "def f(xs):\n    for x in xs:\n        |\n        print(x)\n")
    assert postprocess("use(x)\n    return xs", window).text == "use(x)"


# A header ending in `{` with the auto-closed `}` right of the cursor: that `}`
# is the code after the completion, so the completion stays in the new body.
SCOPE_STAYS_BEFORE_CURSOR_LINE_CLOSER = [
    ("c", "int f(int n) {\n  while (n) {|}\n  return n;\n}\n", "\n    n--;\n  }\n  n++;\n}", "\n    n--;\n  }"),
    ("javascript", "function f(xs) {\n  for (const x of xs) {|}\n}\n",
     "\n    use(x);\n  }\n  return xs;\n}", "\n    use(x);\n  }"),
    ("go", "func f(n int) int {\n\tfor n > 0 {|}\n\treturn n\n}\n", "\n\t\tn--\n\t}\n\tn++\n}", "\n\t\tn--\n\t}"),
]


@pytest.mark.parametrize("language, snippet, raw, expected", SCOPE_STAYS_BEFORE_CURSOR_LINE_CLOSER)
def test_scope_stays_before_cursor_line_closer(window_at, language, snippet, raw, expected):
    done = postprocess(raw, window_at(language, snippet))
    assert done.text == expected
    assert done.replace_chars == 1


# Code after the completion that continues the enclosing statement (else,
# except, `} else {`) leaves no room for completion lines at its level.
SCOPE_STAYS_BEFORE_CONTINUATION = [
    ("python", "def f(x):\n    if x:\n        |\n    else:\n        pass\n", "a = 1\n    b = 2", "a = 1"),
    ("python", "def f(x):\n    try:\n        |\n    except E:\n        pass\n", "a = 1\n    b = 2", "a = 1"),
    ("python", "def f(x):\n    if x:\n        |\n    elif y:\n        pass\n", "a = 1\n    b = 2", "a = 1"),
    ("javascript", "function f(x) {\n  if (x) {\n    |\n  } else {\n    g();\n  }\n}\n", "a();\n  b();", "a();"),
    ("javascript", "function f(x) {\n  if (x) {\n    |\n  } else {\n    g();\n  }\n}\n", "a();\n  }\n  b();", "a();"),
    ("c", "int f(int x) {\n  if (x) {\n    |\n  } else {\n    g();\n  }\n}\n", "a();\n  b();", "a();"),
]


@pytest.mark.parametrize("language, snippet, raw, expected", SCOPE_STAYS_BEFORE_CONTINUATION)
def test_scope_stays_before_continuation(window_at, language, snippet, raw, expected):
    assert postprocess(raw, window_at(language, snippet)).text == expected


def test_line_break_keeps_indentation_left_of_cursor(window_at):
    # The cursor sits inside the indentation of `return xs`, so the new line needs the rest of it.
    window = window_at("python", "def f(xs):\n  |  return xs\n")
    for raw in ("xs.sort()", "  xs.sort()"):
        text = postprocess(raw, window).text
        assert text == "  xs.sort()\n  "
        compile("def f(xs):\n  " + text + "  return xs\n", "snippet", "exec")


def test_line_break_ignores_indentation_of_comment(window_at):
    window = window_at("python", "x = 1\n|  # note\n")
    assert postprocess("y = 2", window).text == "y = 2\n"


def test_first_line_keeps_indent_after_wrapped_signature(window_at):
    window = window_at("python", "def total(\n    items,\n) -> int:\n|\n")
    assert postprocess("    return sum(items)", window).text == "    return sum(items)"


@pytest.mark.parametrize(("snippet", "raw", "expected"), [
    ("def f(n):\n    if n == 0:\n|\n    return 1\n", "    return 0\n", "        return 0"),
    ("def f(n):\n    if n == 0:\n|\n", "return 0", "        return 0"),
    ("def f(n):\n    for x in n:\n|\n", "    if x:\n        print(x)", "        if x:\n            print(x)"),
    ("def f(n):\n    for x in n:\n        |\n", "if x:\n    print(x)", "if x:\n    print(x)"),
])
def test_shallow_line_moves_into_block(window_at, snippet, raw, expected):
    assert postprocess(raw, window_at("python", snippet)).text == expected


def test_bracket_line_keeps_indentation(window_at):
    assert postprocess("1,\n2,", window_at("python", "x = [\n|\n]\n")).text == "1,\n2,"


def test_shallow_line_before_code(window_at):
    window = window_at("python", "def f(text):\n    for c in text:\n        if c:\n|            return c\n")
    assert postprocess("        return False\n", window).text == "            return False\n"
    closing = window_at("python", "def f(text):\n    if text:\n|)\n")
    assert postprocess("    g(x", closing).text == "    g(x"  # joined to the `)` after it: left alone

