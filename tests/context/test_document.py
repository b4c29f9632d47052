import random

import pytest

from fim_server.context.document import Document, DocumentCache, common_prefix_length, common_suffix_length
from fim_server.context.positions import LineIndex

PYTHON = 'def greet(name):\r\n    """Say hi 😀."""\r\n    return f"héllo {name} 漢字"\r\n'


def _tree_text(document: Document) -> str:
    return str(document.tree.root_node)


def _assert_consistent(document: Document) -> None:
    """The incrementally kept document must equal one built from scratch."""
    fresh = Document(document.text, document.language)
    assert document.source == document.text.encode("utf-8", "surrogatepass")
    assert document.index.line_count == fresh.index.line_count
    for line in range(fresh.index.line_count + 1):
        assert document.index.line_start(line) == fresh.index.line_start(line)
        assert document.index.line_byte_start(line) == fresh.index.line_byte_start(line)
    if document.language:
        assert _tree_text(document) == _tree_text(fresh)


def test_lsp_range_edit_after_emoji():
    document = Document(PYTHON, "python")
    # insert after the emoji on line 1: `    """Say hi 😀` is 15 code points, 16 UTF-16 units
    document.apply_change("!", ((1, 16), (1, 16)))
    assert document.line_text(1) == '    """Say hi 😀!."""'
    _assert_consistent(document)


def test_lsp_range_edit_utf8_encoding():
    document = Document(PYTHON, "python")
    start = len('    return f"h'.encode())
    document.apply_change("e", ((2, start), (2, start + 2)), encoding="utf-8")  # replace é (2 bytes)
    assert document.line_text(2) == '    return f"hello {name} 漢字"'
    _assert_consistent(document)


def test_edit_joins_crlf_terminator():
    document = Document("a\rb\nc", None)
    assert document.index.line_count == 3
    document.replace(2, 3, "\n")  # "a\r\n\nc": the \r and the new \n form one terminator
    assert document.text == "a\r\n\nc"
    assert document.index.line_count == 3
    _assert_consistent(document)


def test_edit_splits_crlf_terminator():
    document = Document("ab\r\ncd", None)
    document.replace(3, 3, "x")  # "ab\rx\ncd": three lines now
    assert document.index.line_count == 3
    assert document.line_text(1) == "x"
    _assert_consistent(document)


def test_tree_reparsed_after_edit():
    document = Document("def f():\n    pass\n", "python")
    assert not document.tree.root_node.has_error
    document.replace(4, 5, "")  # `def ():` is a syntax error
    assert document.tree.root_node.has_error
    document.replace(4, 4, "g")
    assert not document.tree.root_node.has_error
    _assert_consistent(document)


def test_unknown_language_has_no_tree():
    document = Document("some text\n", "cobol")
    assert document.language is None
    assert document.tree is None
    document.replace(0, 4, "more")
    assert document.text == "more text\n"


def test_invalid_edit_range_rejected():
    document = Document("abc", None)
    with pytest.raises(ValueError, match="invalid edit range 2:9"):
        document.replace(2, 9, "")
    with pytest.raises(ValueError, match="end before start"):
        document.apply_change("", ((0, 2), (0, 1)))
    assert document.text == "abc"


def test_full_text_change_is_minimal_edit():
    document = Document(PYTHON, "python")
    _ = document.tree
    changed = PYTHON.replace("return", "yield")
    document.apply_change(changed)
    assert document.text == changed
    _assert_consistent(document)


def test_common_prefix_and_suffix_lengths():
    left = "x" * 10_000 + "abc" + "y" * 5000
    right = "x" * 10_000 + "aXc" + "y" * 5000
    assert common_prefix_length(left, right) == 10_001
    assert common_suffix_length(left, right, len(left) - 10_001) == 5001
    assert common_prefix_length("abc", "abc") == 3
    assert common_prefix_length("", "abc") == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_edits_match_fresh_document(seed):
    rng = random.Random(seed)
    pieces = ["\n", "\r\n", "\r", "😀", "漢", "x", "    ", "def f(a):\n", "return a\n", "(", ")", '"']
    document = Document(PYTHON * 5, "python")
    for step in range(120):
        start = rng.randint(0, len(document.text))
        end = min(len(document.text), start + rng.choice([0, 0, 1, 3, 12]))
        document.replace(start, end, "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))))
        if step % 10 == 0:
            _assert_consistent(document)
    _assert_consistent(document)


def test_random_lsp_positions_match_naive_conversion():
    rng = random.Random(7)
    text = "".join(rng.choice(["a", "😀", "漢", "\r\n", "\n", "é", " "]) for _ in range(600))
    index = LineIndex(text)
    lines = text.replace("\r\n", "\n").split("\n")
    for offset in range(0, len(text) + 1, 7):
        if offset > 0 and text[offset - 1] == "\r" and text[offset : offset + 1] == "\n":
            continue  # between \r and \n, covered by test_crlf_positions
        before = text[:offset].replace("\r\n", "\n")
        line = before.count("\n")
        column = before[before.rfind("\n") + 1 :]
        expected = (line, len(column.encode("utf-16-le")) // 2)
        assert index.offset_to_position(text, offset) == expected
        assert index.position_to_offset(text, *expected) == offset
    assert index.line_count == len(lines)


def test_document_cache_reuses_and_bounds_entries():
    cache = DocumentCache(max_entries=2)
    with cache.use("x = 1\n", "python", "a.py") as first:
        pass
    with cache.use("x = 12\n", "python", "a.py") as again:
        assert again is first
        assert again.text == "x = 12\n"
        assert not again.tree.root_node.has_error
    with cache.use("y", "python", "b.py"):
        pass
    with cache.use("z", "python", "c.py"):
        pass
    with cache.use("x = 1\n", "python", "a.py") as evicted:
        assert evicted is not first


def _assert_region_consistent(document: Document, offset: int) -> None:
    view = document.syntax_near(offset)
    region_text = document.text[view.start : view.end]
    fresh = Document(region_text, document.language).tree.root_node
    assert str(view.root) == str(fresh)
    assert view.base_byte == len(document.text[: view.start].encode("utf-8", "surrogatepass"))
    assert view.start <= offset <= view.end


def test_region_tree_follows_edits():
    rng = random.Random(11)
    body = "".join(f"def f{i}(a):\n    return a + {i}  # 漢\n\n" for i in range(400))
    document = Document(body, "python")
    offset = len(body) // 2
    _assert_region_consistent(document, offset)
    for step in range(200):
        roll = rng.random()
        if roll < 0.1:
            where = rng.randrange(len(document.text))  # an edit anywhere, often outside the region
            document.replace(where, where, "x = (1,\n")
        elif roll < 0.2 and offset > 0:
            document.replace(offset - 1, offset, "")
            offset -= 1
        else:
            document.replace(offset, offset, rng.choice(["a", "(", ")", "\n", "😀", ":"]))
            offset += 1
        if step % 20 == 0:
            _assert_region_consistent(document, offset)
    _assert_region_consistent(document, offset)


def test_region_starts_at_column_zero_line():
    body = "".join(f"class C{i}:\n    def m(self):\n        return {i}\n\n" for i in range(300))
    document = Document(body, "python")
    view = document.syntax_near(len(body) // 2)
    assert view.start > 0
    assert body[view.start : view.start + 6] == "class "
    assert view.end == len(body) or body[view.end : view.end + 6] == "class "
    assert not view.root.has_error


def test_region_inside_one_long_line_is_bounded():
    # A minified bundle: one line of 2 MB with multi-byte characters, edited near the cursor.
    body = 'var s="é";' * 200_000
    document = Document(body, "javascript")
    offset = len(body) // 2
    view = document.syntax_near(offset)
    assert 0 < view.start <= offset <= view.end < len(body)
    assert view.end - view.start <= 100_000
    _assert_region_consistent(document, offset)
    for _ in range(20):
        document.replace(offset, offset, "x")
        offset += 1
    _assert_region_consistent(document, offset)


def test_line_based_document_has_no_region():
    assert Document("plain words\n", None).syntax_near(3) is None


def test_document_cache_bounds_characters():
    cache = DocumentCache(max_entries=8, max_chars=100)
    for name in ("a", "b", "c"):
        with cache.use("x" * 60, None, name):
            pass
    assert list(cache._entries) == [("", "c")]
    with cache.use("y" * 500, None, "big"):
        pass
    assert list(cache._entries) == [("", "big")]
