"""`fim-server serve` rejects out-of-range numeric options before it starts anything."""

import pytest

from fim_server.cli import main


@pytest.mark.parametrize("option, value, hint", [
    ("--http-port", "70000", "use a TCP port from 1 to 65535"),
    ("--http-port", "-1", "use a TCP port from 1 to 65535"),
    ("--max-body-bytes", "-5", "use a whole number >= 1"),
    ("--request-timeout", "-1", "use a number > 0"),
    ("--max-batch", "0", "use a whole number >= 1"),
    ("--max-queue", "0", "use a whole number >= 1"),
    ("--context-slots", "0", "use a whole number >= 1"),
])
def test_out_of_range_option_is_rejected(option, value, hint, capsys, tmp_path):
    with pytest.raises(SystemExit) as raised:
        main(["serve", "--engine", "fake", "--socket", str(tmp_path / "d.sock"), option, value])
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}: invalid value '{value}': {hint}" in error
    assert not (tmp_path / "d.sock").exists()
