"""Run untrusted Python programs (model completions spliced into tests) in a subprocess.

Each program runs in a fresh temporary folder, under ``python -I -S -B`` with the
guard script in ``_guard.py``. The guard sets limits on address space, CPU time and
file size (``resource.setrlimit``) and installs audit hooks that reject sockets,
process creation and writes outside the folder. Where ``unshare`` can create one,
the program also gets a private network namespace with no interfaces up. The parent kills the whole process group when the
wall-clock limit passes, so a hung or crashing program is a failed sample, never a
hung evaluation.

NOTE: programs run as the invoking user. Dropping to an unprivileged user would
add a permission layer, but the interpreter must then be readable by that user,
which a Python installed under a private home folder (0700) is not.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("fim_server.evaluation.sandbox")

GUARD = Path(__file__).with_name("_guard.py")
STDERR_TAIL_CHARS = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxLimits:
    """Limits for one program run."""

    timeout_s: float = 5.0  # wall clock, enforced by the parent
    memory_mb: int = 1024  # address space (RLIMIT_AS)
    file_mb: int = 16  # largest file the program may write (RLIMIT_FSIZE)
    network_namespace: bool = True  # use `unshare -n` when it works on this machine


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionResult:
    """Outcome of one sandboxed run: ``passed`` (exit 0), ``failed`` or ``timeout``."""

    status: str
    returncode: int | None
    duration_s: float
    detail: str  # last line of stderr or the signal that ended the program

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@functools.cache
def network_isolation_prefix() -> tuple[str, ...]:
    """Return the command prefix that gives a child its own empty network namespace, or ()."""
    unshare = shutil.which("unshare")
    if unshare is None:
        log.warning("unshare not found: sandboxed programs rely on audit hooks alone to block the network")
        return ()
    for prefix in ((unshare, "--net"), (unshare, "--map-root-user", "--net")):
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return prefix
    log.warning("unshare cannot create a network namespace here: sandboxed programs rely on audit hooks alone")
    return ()


def _describe_exit(returncode: int, stderr: str) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else f"exit status {returncode}"


def _read_tail(path: Path) -> str:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - STDERR_TAIL_CHARS))
        return handle.read().decode("utf-8", errors="replace")


def run_program(source: str, limits: SandboxLimits = SandboxLimits()) -> ExecutionResult:
    """Run ``source`` as ``__main__`` in a new sandbox; never raises for anything the program does."""
    cpu_seconds = max(1, int(limits.timeout_s) + 1)
    with tempfile.TemporaryDirectory(prefix="fim-sandbox-") as root:
        work = Path(root) / "work"
        work.mkdir()
        (work / "program.py").write_text(source, encoding="utf-8")
        stderr_path = Path(root) / "stderr.txt"
        prefix = network_isolation_prefix() if limits.network_namespace else ()
        command = [*prefix, sys.executable, "-I", "-S", "-B", str(GUARD),
                   str(limits.memory_mb), str(cpu_seconds), str(limits.file_mb), "program.py"]
        environment = {"PATH": "/usr/bin:/bin", "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8"}
        started = time.perf_counter()
        with open(stderr_path, "wb") as stderr:
            process = subprocess.Popen(command, cwd=work, env=environment, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
            finished = _wait_without_reaping(process.pid, limits.timeout_s)
            # The leader is not reaped yet, so its process group id cannot be reused by then.
            _kill_group(process.pid)
            returncode = process.wait()
        duration = time.perf_counter() - started
        if not finished:
            return ExecutionResult(status="timeout", returncode=None, duration_s=duration,
                                   detail=f"timed out after {limits.timeout_s:g} s")
        status = "passed" if returncode == 0 else "failed"
        return ExecutionResult(status=status, returncode=returncode, duration_s=duration,
                               detail="" if returncode == 0 else _describe_exit(returncode, _read_tail(stderr_path)))


def _wait_without_reaping(pid: int, timeout_s: float) -> bool:
    """Wait until ``pid`` exits or ``timeout_s`` passes; return whether it exited."""
    deadline = time.monotonic() + timeout_s
    delay = 0.001
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
    return True


def _kill_group(group: int) -> None:
    """Kill the program and anything it left running in its process group."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


__all__ = ["ExecutionResult", "SandboxLimits", "network_isolation_prefix", "run_program"]
