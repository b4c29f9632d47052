"""Frames, message types and the private runtime folder."""

import os
from pathlib import Path

import pytest

from fim_server.daemon import protocol
from fim_server.daemon.locations import LocationError, check_socket_path, runtime_dir
from fim_server.engine.engine import Candidate, FillResult


def test_fill_result_survives_a_round_trip():
    result = FillResult([Candidate(text="x + 1", confidence=0.5, finished=True, canvas_tokens=16)], 3, [4, 4, 8],
                        {"denoise": 12.5}, "append")
    frame = protocol.encode_frame(protocol.FilledReply(id=7, result=result))
    length = protocol.frame_length(frame[:4])
    decoded = protocol.daemon_decoder.decode(frame[4:])
    assert length == len(frame) - 4
    assert decoded.id == 7
    assert decoded.result == result


def test_unknown_message_type_is_rejected():
    with pytest.raises(Exception, match="Invalid value 'launch'"):
        protocol.client_decoder.decode(b"\x82\xa4type\xa6launch\xa2id\x01")


def test_oversized_frame_header_is_rejected():
    with pytest.raises(protocol.ProtocolError, match="exceeds the limit"):
        protocol.frame_length(protocol.HEADER.pack(protocol.MAX_MESSAGE_BYTES + 1))


def test_runtime_dir_under_xdg_is_private(tmp_path):
    base = tmp_path / "run"
    base.mkdir(mode=0o700)
    folder = runtime_dir({"XDG_RUNTIME_DIR": str(base)})
    assert folder == base / "fim-server"
    assert folder.stat().st_mode & 0o777 == 0o700


def test_runtime_dir_open_to_others_is_rejected(tmp_path):
    base = tmp_path / "run"
    (base / "fim-server").mkdir(parents=True)
    os.chmod(base / "fim-server", 0o755)
    with pytest.raises(LocationError, match="chmod 700"):
        runtime_dir({"XDG_RUNTIME_DIR": str(base)})


def test_socket_path_over_the_limit_is_rejected(tmp_path):
    with pytest.raises(LocationError, match="longer than 107 bytes"):
        check_socket_path(tmp_path / ("x" * 120) / "daemon.sock")


def test_relative_socket_path_is_rejected():
    with pytest.raises(LocationError, match="not an absolute path"):
        check_socket_path(Path("daemon.sock"))


def test_relative_runtime_dir_is_ignored():
    folder = runtime_dir({"XDG_RUNTIME_DIR": "relative/run"})
    assert folder.is_absolute()
    assert folder.name == f"fim-server-{os.getuid()}"
