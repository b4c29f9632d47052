"""Mode decisions (none / line / block) on real snippets in every supported language."""

import pytest

from fim_server.context.mode import ModeOptions

IDENTIFIER = "cursor inside an identifier"
CODE_LEFT = "code left of the cursor"
EMPTY_BODY = "empty body after a header"
INSIDE_BLOCK = "blank line inside a block"
HEADER_END = "end of a block header"

CASES = {
    "python": [
        ("def total(items):\n    return su|m(items)\n", "none", IDENTIFIER),
        ("def total(items):\n    result = |\n", "line", CODE_LEFT),
        ("class Cart:\n    def total(self):\n        |\n", "block", EMPTY_BODY),
        ("def f(x):\n    y = x * 2\n    |\n    return y\n", "block", INSIDE_BLOCK),
        ("def f(x):|\n", "block", HEADER_END),
        ("for item in items:\n    # sum up |\n    pass\n", "line", "inside a comment"),
        ('def f():\n    """Return the |\n    total."""\n', "line", "inside a string"),
        ("d = {\n    'a':|\n}\n", "line", CODE_LEFT),
        # A signature wrapped over lines (the layout black writes) still opens a body.
        ("def total(\n    items,\n) -> int:\n|\n", "block", EMPTY_BODY),
        ("class Cart:\n    def total(\n        self,\n    ) -> int:\n        |\n", "block", EMPTY_BODY),
        ("x = items[1:\n|\n]\n", "block", "empty line"),  # a slice, not a header
    ],
    "javascript": [
        ("function add(a, b) {\n  return a + |b;\n}\n", "none", "word characters right of the cursor"),
        ("function add(a, b) {\n  const sum = |\n}\n", "line", CODE_LEFT),
        ("function add(a, b) {\n  |\n}\n", "block", EMPTY_BODY),
        ("function f() {\n  let a = 1;\n  |\n  return a;\n}\n", "block", INSIDE_BLOCK),
        ("const s = `total: ${|}`;\n", "line", CODE_LEFT),
        ("const s = `total |`;\n", "line", "inside a string"),
        ("items.forEach((item) => {|});\n", "block", HEADER_END),
    ],
    "typescript": [
        ("function add(a: number, b: number): number {\n  return a + b;|\n}\n", "none",
         "statement complete at the end of the line"),
        ("interface Point {\n  x: number;\n  |\n}\n", "block", INSIDE_BLOCK),
        ("class Cart {\n  total(): number {\n    |\n  }\n}\n", "block", EMPTY_BODY),
        ("const n: number = |;\n", "line", CODE_LEFT),
    ],
    "tsx": [
        ("export function App() {\n  return <div className=\"app\">|</div>;\n}\n", "line", "text right of the cursor"),
        ("export function App() {\n  |\n}\n", "block", EMPTY_BODY),
        ("const el = <Button onClick={han|dle} />;\n", "none", IDENTIFIER),
        ("// render the |\nexport const A = 1;\n", "line", "inside a comment"),
    ],
    "go": [
        ("func add(a, b int) int {\n\treturn a|b\n}\n", "none", IDENTIFIER),
        ("func add(a, b int) int {\n\tsum := |\n}\n", "line", CODE_LEFT),
        ("func add(a, b int) int {\n\t|\n}\n", "block", EMPTY_BODY),
        ("func f() {\n\tx := 1\n\t|\n\tfmt.Println(x)\n}\n", "block", INSIDE_BLOCK),
        ("func f() {\n\tif x {|}\n}\n", "block", HEADER_END),
        ('func f() {\n\tfmt.Println("hello |")\n}\n', "line", "inside a string"),
    ],
    "rust": [
        ("fn add(a: i32, b: i32) -> i32 {\n    a + |b\n}\n", "none", "word characters right of the cursor"),
        ("fn add(a: i32, b: i32) -> i32 {\n    let sum = |\n}\n", "line", CODE_LEFT),
        ("impl Cart {\n    fn total(&self) -> u32 {\n        |\n    }\n}\n", "block", EMPTY_BODY),
        ("fn f() {\n    let a = 1;\n    |\n    println!(\"{}\", a);\n}\n", "block", INSIDE_BLOCK),
        ("fn f<'a>(x: &'a str) -> &'a str {\n    let s = |\n}\n", "line", CODE_LEFT),
        ("/// Adds two |\nfn add() {}\n", "line", "inside a comment"),
    ],
    "java": [
        ("class A {\n  int add(int a, int b) {\n    return a + |b;\n  }\n}\n", "none",
         "word characters right of the cursor"),
        ("class A {\n  int add(int a, int b) {\n    |\n  }\n}\n", "block", EMPTY_BODY),
        ("class A {\n  int x = 1;\n  |\n  int y = 2;\n}\n", "block", INSIDE_BLOCK),
        ("class A {\n  void f() {\n    String s = |\n  }\n}\n", "line", CODE_LEFT),
        ("class A {\n  /* counts |*/\n}\n", "line", "inside a comment"),
    ],
    "c": [
        ("int add(int a, int b) {\n  return a + b;|\n}\n", "none", "statement complete at the end of the line"),
        ("int add(int a, int b) {\n  |\n}\n", "block", EMPTY_BODY),
        ("int main(void) {\n  int x = 1;\n  |\n  return x;\n}\n", "block", INSIDE_BLOCK),
        ('int main(void) {\n  printf("%d|\\n", x);\n}\n', "line", "inside a string"),
        ("int main(void) {\n  int total = |\n}\n", "line", CODE_LEFT),
    ],
    "cpp": [
        ("namespace geo {\nstruct Point {\n  int x;\n  |\n};\n}\n", "block", INSIDE_BLOCK),
        ("template <typename T>\nT add(T a, T b) {\n  |\n}\n", "block", EMPTY_BODY),
        ("int main() {\n  std::vector<int> v = |\n}\n", "line", CODE_LEFT),
        ("int main() {\n  auto v = std::vec|tor<int>{};\n}\n", "none", IDENTIFIER),
    ],
    None: [
        ("hello |world\n", "none", "word characters right of the cursor"),
        ("section:\n  |\n", "block", EMPTY_BODY),
        ("key = |\n", "line", CODE_LEFT),
    ],
}
MODE_CASES = [
    pytest.param(language, *case, id=f"{language}-{number}")
    for language, cases in CASES.items()
    for number, case in enumerate(cases)
]


@pytest.mark.parametrize("language, snippet, mode, reason", MODE_CASES)
def test_mode_decision(window_at, language, snippet, mode, reason):
    window = window_at(language, snippet)
    assert (window.mode, window.mode_reason) == (mode, reason)
    assert window.canvas_tokens == {"none": 0, "line": 16, "block": 48}[mode]


@pytest.mark.parametrize("language", ["python", "javascript", "go", "rust", "c", None])
def test_empty_line_at_column_zero_gets_block(window_at, language):
    window = window_at(language, "x = 1\n|\n")
    assert window.mode == "block"
    assert window.mode_reason == "empty line"


@pytest.mark.parametrize(
    "policy, mode, reason",
    [("none", "none", "inside a comment"), ("line", "line", "inside a comment"),
     ("complete", "line", "code left of the cursor")],
)
def test_comment_policy(window_at, policy, mode, reason):
    window = window_at("python", "def f():\n    # steps:\n    #|\n    pass\n", comments=policy)
    assert window.mode == mode
    assert window.mode_reason == reason


@pytest.mark.parametrize("policy, mode", [("none", "none"), ("line", "line"), ("complete", "line")])
def test_string_policy(window_at, policy, mode):
    assert window_at("javascript", 'const s = "abc|";\n', strings=policy).mode == mode


def test_invalid_policy_rejected():
    with pytest.raises(ValueError, match="invalid comments policy 'sometimes'"):
        ModeOptions(comments="sometimes")


def test_requested_mode_wins(window_at):
    window = window_at("python", "x = pri|nt\n", mode="block")
    assert (window.mode, window.mode_reason) == ("block", "requested")


def test_invalid_requested_mode_rejected(window_at):
    with pytest.raises(ValueError, match="invalid mode 'page'"):
        window_at("python", "x = |\n", mode="page")


@pytest.mark.parametrize(
    "language, snippet, reason",
    [("python", 'message = "Re|ad the file"\n', "cursor inside a word"),
     ("python", "# ea|ch item\nx = 1\n", "cursor inside a word"),
     ("javascript", "// see |notes below\nlet a = 1;\n", "word characters right of the cursor"),
     ("go", 'var s = "|value"\n', "word characters right of the cursor")],
)
def test_no_completion_splitting_a_word_in_literals(window_at, language, snippet, reason):
    for policy in ("line", "complete"):
        window = window_at(language, snippet, comments=policy, strings=policy)
        assert window.mode == "none"
        assert window.mode_reason == reason
