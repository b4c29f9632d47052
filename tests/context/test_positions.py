import pytest

from fim_server.context.positions import (
    LineIndex,
    advance_point,
    byte_to_index,
    code_units,
    index_for_units,
    ts_point,
)

# "😀" is outside the BMP: 2 UTF-16 units, 4 UTF-8 bytes. "漢" is CJK: 1 UTF-16 unit, 3 UTF-8 bytes.
EMOJI_LINE = 'x = "😀漢"; y = 1'
TEXT = f"first\r\n{EMOJI_LINE}\rthird 漢字\nlast"


def test_code_units_per_encoding():
    assert code_units("😀", "utf-16") == 2
    assert code_units("😀", "utf-8") == 4
    assert code_units("😀", "utf-32") == 1
    assert code_units("漢", "utf-16") == 1
    assert code_units("漢", "utf-8") == 3
    assert code_units("abc", "utf-8") == 3


def test_index_for_units_emoji_utf16():
    # after `x = "` (5 units) the emoji takes units 5-6, then 漢 is unit 7
    assert index_for_units(EMOJI_LINE, 5) == 5
    assert index_for_units(EMOJI_LINE, 7) == 6
    assert index_for_units(EMOJI_LINE, 8) == 7


def test_index_for_units_inside_surrogate_rounds_down():
    assert index_for_units(EMOJI_LINE, 6) == 5


def test_index_for_units_utf8_and_utf32():
    assert index_for_units(EMOJI_LINE, 9, "utf-8") == 6
    assert index_for_units(EMOJI_LINE, 12, "utf-8") == 7
    assert index_for_units(EMOJI_LINE, 6, "utf-32") == 6


def test_index_for_units_clamps_past_line_end():
    assert index_for_units("abc", 10) == 3
    assert index_for_units("a😀", 10) == 2


def test_index_for_units_rejects_negative():
    with pytest.raises(ValueError, match="invalid character offset -1"):
        index_for_units("abc", -1)


def test_invalid_encoding_named_in_error():
    with pytest.raises(ValueError, match="utf-7"):
        index_for_units("é", 1, "utf-7")


def test_byte_to_index_rounds_down_inside_character():
    assert byte_to_index("a漢b", 1) == 1
    assert byte_to_index("a漢b", 2) == 1
    assert byte_to_index("a漢b", 4) == 2


def test_line_index_counts_all_terminators():
    index = LineIndex(TEXT)
    assert index.line_count == 4
    assert [TEXT[slice(*index.line_span(TEXT, line))] for line in range(4)] == [
        "first", EMOJI_LINE, "third 漢字", "last",
    ]


def test_position_round_trip_utf16():
    index = LineIndex(TEXT)
    # `y` on line 1: code point 10, but UTF-16 character 11 because of the emoji
    offset = TEXT.index("y = 1")
    assert index.offset_to_position(TEXT, offset) == (1, 11)
    assert index.position_to_offset(TEXT, 1, 11) == offset


def test_position_round_trip_utf8_and_utf32():
    index = LineIndex(TEXT)
    offset = TEXT.index("字")
    assert index.offset_to_position(TEXT, offset, "utf-8") == (2, 9)
    assert index.offset_to_position(TEXT, offset, "utf-32") == (2, 7)
    assert index.position_to_offset(TEXT, 2, 9, "utf-8") == offset
    assert index.position_to_offset(TEXT, 2, 7, "utf-32") == offset


def test_position_clamps_like_lsp():
    index = LineIndex(TEXT)
    line_end = TEXT.index("\r\n")
    assert index.position_to_offset(TEXT, 0, 99) == line_end  # never lands between \r and \n
    assert index.position_to_offset(TEXT, 99, 0) == len(TEXT)


def test_position_rejects_negative():
    with pytest.raises(ValueError, match="invalid position -1:0"):
        LineIndex(TEXT).position_to_offset(TEXT, -1, 0)


def test_offset_to_byte_and_back():
    index = LineIndex(TEXT)
    encoded = TEXT.encode()
    for offset in range(len(TEXT) + 1):
        byte = index.offset_to_byte(TEXT, offset)
        assert byte == len(TEXT[:offset].encode())
        assert index.byte_to_offset(TEXT, byte) == offset
    assert index.byte_to_offset(TEXT, len(encoded)) == len(TEXT)


def test_offset_out_of_range_rejected():
    with pytest.raises(ValueError, match="invalid offset 999"):
        LineIndex(TEXT).offset_to_byte(TEXT, 999)


def test_crlf_positions():
    text = "a\r\nb\r\n"
    index = LineIndex(text)
    assert index.line_count == 3
    assert index.offset_to_position(text, 3) == (1, 0)
    assert index.offset_to_position(text, 1) == (0, 1)
    assert index.offset_to_position(text, 2) == (0, 1)  # between \r and \n: still the line end
    assert index.position_to_offset(text, 2, 0) == len(text)


def test_ts_point_counts_newlines_and_bytes():
    source = "ab\n漢x\r\ny".encode()
    assert ts_point(source, source.index(b"x")) == (1, 3)
    assert ts_point(source, source.index(b"y")) == (2, 0)


def test_advance_point():
    assert advance_point((3, 4), b"abc") == (3, 7)
    assert advance_point((3, 4), b"a\nbc") == (4, 2)


def test_line_index_many_lines_lazy_accumulation():
    text = "".join(f"line {i} 😀\n" for i in range(3000))
    index = LineIndex(text)
    for line in (2999, 5, 1500, 3000):
        assert index.line_start(line) == sum(len(f"line {i} 😀\n") for i in range(line))
    offset = text.index("line 2345 ")
    assert index.offset_to_position(text, offset) == (2345, 0)
    assert index.byte_to_offset(text, len(text[:offset].encode())) == offset
