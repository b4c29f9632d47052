"""`fim-server complete` reads LINE:COL the way editors count them and reports bad ones in those numbers.

Every case here stops before the model loads.
"""

import pytest

from fim_server.cli import main


@pytest.mark.parametrize(
    ("content", "location", "message"),
    [
        (b"x = 1\n", "3:1", "invalid line 3: {path} ends at line 2"),
        (b"x = 1\ny = 2", "2:7", "invalid column 7: line 2 of {path} has 5 characters, so the last column is 6"),
        (b"x = 1\r\ny = 2\r\n", "1:7", "invalid column 7: line 1 of {path} has 5 characters"),
        (b"x = 1\ry = 22\r", "2:8", "invalid column 8: line 2 of {path} has 6 characters"),
        (b"x = 1\ry = 2\r", "4:1", "invalid line 4: {path} ends at line 3"),
        ("s = '🐍'\n".encode(), "1:9", "invalid column 9: line 1 of {path} has 7 characters"),
        (b"\xef\xbb\xbfx = 1\n", "1:7", "invalid column 7: line 1 of {path} has 5 characters"),
    ],
    ids=["line past end", "column past end", "crlf", "lone cr", "lone cr line past end", "emoji", "byte order mark"],
)
def test_location_past_end_in_typed_numbers(tmp_path, capsys, content, location, message):
    source = tmp_path / "a.py"
    source.write_bytes(content)
    assert main(["complete", f"{source}:{location}"]) == 2
    assert f"error: {message.format(path=source)}" in capsys.readouterr().err


def test_invalid_utf8_is_reported(tmp_path, capsys):
    source = tmp_path / "latin1.py"
    source.write_bytes("name = 'café'\n".encode("latin-1"))
    assert main(["complete", f"{source}:1:40"]) == 2
    err = capsys.readouterr().err
    assert f"warning: {source} is not valid UTF-8 (invalid continuation byte at byte 11)" in err
    assert "invalid column 40: line 1" in err
