import socket
import subprocess
import sys
import threading
import uuid

import pytest

from fim_server.evaluation.sandbox import SandboxLimits, network_isolation_prefix, run_program

LIMITS = SandboxLimits(timeout_s=3.0, memory_mb=512)


def test_passing_program_passes():
    result = run_program("assert sum(range(4)) == 6\n", LIMITS)
    assert result.status == "passed"
    assert result.returncode == 0


def test_failing_assert_fails_with_detail():
    result = run_program("assert 1 == 2, 'wrong sum'\n", LIMITS)
    assert result.status == "failed"
    assert "AssertionError: wrong sum" in result.detail


def test_infinite_loop_times_out():
    result = run_program("while True:\n    pass\n", SandboxLimits(timeout_s=1.0))
    assert result.status == "timeout"
    assert result.returncode is None
    assert result.duration_s < 30


def test_sleeping_program_times_out():
    result = run_program("import time\ntime.sleep(600)\n", SandboxLimits(timeout_s=1.0))
    assert result.status == "timeout"


def test_large_allocation_fails():
    result = run_program("block = bytearray(8 * 2**30)\nprint(len(block))\n", LIMITS)
    assert result.status == "failed"
    assert "MemoryError" in result.detail


def test_write_outside_folder_is_blocked(tmp_path):
    target = tmp_path / f"escape-{uuid.uuid4().hex}.txt"
    result = run_program(f"open({str(target)!r}, 'w').write('x')\n", LIMITS)
    assert result.status == "failed"
    assert "outside the working directory" in result.detail
    assert not target.exists()


def test_low_level_write_outside_folder_is_blocked(tmp_path):
    target = tmp_path / f"escape-{uuid.uuid4().hex}.txt"
    source = f"import os\nos.open({str(target)!r}, os.O_CREAT | os.O_WRONLY)\n"
    result = run_program(source, LIMITS)
    assert result.status == "failed"
    assert not target.exists()


def test_rename_into_parent_is_blocked():
    source = "open('inside.txt', 'w').write('x')\nimport os\nos.rename('inside.txt', '../moved.txt')\n"
    result = run_program(source, LIMITS)
    assert result.status == "failed"
    assert "os.rename" in result.detail


def test_write_inside_folder_is_allowed():
    source = "open('notes.txt', 'w').write('ok')\nassert open('notes.txt').read() == 'ok'\n"
    assert run_program(source, LIMITS).status == "passed"


def test_socket_creation_is_blocked():
    result = run_program("import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)\n", LIMITS)
    assert result.status == "failed"
    assert "socket.__new__" in result.detail


def test_connection_to_local_listener_never_arrives():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    source = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
    try:
        result = run_program(source, LIMITS)
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()
    assert result.status == "failed"


def test_process_creation_is_blocked():
    result = run_program("import subprocess\nsubprocess.run(['true'])\n", LIMITS)
    assert result.status == "failed"
    assert "subprocess.Popen" in result.detail


def test_crash_is_a_failure():
    result = run_program("import os\nos.abort()\n", LIMITS)
    assert result.status == "failed"
    assert result.detail == "killed by SIGABRT"


def test_parallel_runs_are_independent():
    results = [None] * 4

    def run(index: int) -> None:
        results[index] = run_program(f"assert {index} == {index}\n" if index % 2 else "raise SystemExit(3)\n", LIMITS)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [result.status for result in results] == ["failed", "passed", "failed", "passed"]


def test_network_namespace_has_no_route_to_host_loopback():
    prefix = network_isolation_prefix()
    if not prefix:
        pytest.skip("unshare cannot create a network namespace on this machine")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    probe = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
    try:
        completed = subprocess.run([*prefix, sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    finally:
        listener.close()
    assert completed.returncode != 0
    assert "Error" in completed.stderr
