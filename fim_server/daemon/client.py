"""Client side of the model daemon: find it, start it when needed, and fill through it.

``RemoteEngine`` has the ``DiffusionEngine.fill`` contract, so a
``CompletionPipeline(RemoteEngine(...))`` works unchanged while the model lives
in one shared process. When the daemon is not running, the first client starts
it (``python -m fim_server.cli serve --socket ...``, detached), holding an
exclusive lock next to the socket so that two clients never start two daemons.
When the connection breaks during a fill (the daemon crashed or was killed),
the client starts a new daemon and retries that fill once.
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import itertools
import logging
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..engine.types import DeadlineExceeded, FillCancelled, FillResult, Overloaded
from . import protocol
from .locations import check_socket_path, default_socket_path
from .protocol import (
    CancelMessage,
    ErrorReply,
    FilledReply,
    FillMessage,
    PingMessage,
    PongReply,
    ShutdownMessage,
)

log = logging.getLogger("fim_server.daemon.client")


class DaemonError(RuntimeError):
    """The daemon could not be reached or started, or it failed internally."""


class DaemonConnectionLost(DaemonError):
    """The connection closed before the reply arrived (the daemon stopped or crashed)."""


def can_connect(path: Path, timeout: float = 1.0) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(timeout)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_daemon(socket_path: Path, spawn_args: list[str], timeout: float) -> int | None:
    """Start a daemon on ``socket_path`` unless one already listens there; return the new pid or None.

    An exclusive ``flock`` on ``<socket>.lock`` serialises concurrent starters:
    the second one waits, then finds the socket accepting connections and starts nothing.
    """
    lock_path, log_path = socket_path.with_suffix(".lock"), socket_path.with_suffix(".log")
    with open(lock_path, "a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        if can_connect(socket_path):
            return None
        command = [sys.executable, "-m", "fim_server.cli", "serve", "--socket", str(socket_path), *spawn_args]
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=log_file, start_new_session=True, close_fds=True)
        threading.Thread(target=process.wait, name="fim-daemon-reaper", daemon=True).start()
        log.info("started the model daemon (pid %d) on %s; its log is %s", process.pid, socket_path, log_path)
        give_up = time.monotonic() + timeout
        while not can_connect(socket_path):
            if process.poll() is not None:
                raise DaemonError(f"the daemon exited with status {process.returncode} while starting; "
                                  f"last lines of {log_path}:\n{_log_tail(log_path)}")
            if time.monotonic() > give_up:
                raise DaemonError(f"the daemon did not open {socket_path} within {timeout:.0f} s; "
                                  f"see {log_path}")
            time.sleep(0.05)
        return process.pid


class DaemonClient:
    """One connection to the daemon, shared by threads; replies are matched to requests by id."""

    def __init__(self, socket_path: str | Path | None = None, *, spawn_args: list[str] | None = None,
                 autostart: bool = True, start_timeout: float = 120.0) -> None:
        self.socket_path = check_socket_path(Path(socket_path)) if socket_path else default_socket_path()
        self.spawn_args = list(spawn_args or [])
        self.autostart = autostart
        self.start_timeout = start_timeout
        self.started_pids: list[int] = []  # daemons this client started, oldest first
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # guards the socket, the send path and the pending table
        self._sock: socket.socket | None = None
        self._pending: dict[int, concurrent.futures.Future] = {}

    # -- connection -----------------------------------------------------------------

    def connect(self) -> None:
        """Connect unless connected, starting the daemon first when none listens and autostart is on."""
        with self._lock:
            if self._sock is not None:
                return
            give_up = time.monotonic() + self.start_timeout
            while (sock := self._open()) is None:
                if not self.autostart:
                    raise DaemonError(f"no daemon listens on {self.socket_path}; start one with `fim-server serve`")
                if time.monotonic() > give_up:
                    raise DaemonError(f"connecting to the daemon on {self.socket_path} timed out after {self.start_timeout:.0f} s; see {self.socket_path.with_suffix('.log')}")
                try:
                    pid = start_daemon(self.socket_path, self.spawn_args, self.start_timeout)
                except OSError as exc:  # the lock or log file, or the process, could not be created
                    raise DaemonError(f"cannot start the daemon on {self.socket_path}: {exc}") from exc
                if pid is not None:
                    self.started_pids.append(pid)
                else:
                    time.sleep(0.1)  # another client's daemon, or one still shutting down, accepted the probe
            self._sock = sock
            threading.Thread(target=self._read_replies, args=(sock,), name="fim-daemon-reader", daemon=True).start()

    def _open(self) -> socket.socket | None:
        """Connect and exchange a ping, so that a daemon that is shutting down does not count as running."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(30)
            sock.connect(str(self.socket_path))
            sock.sendall(protocol.encode_frame(PingMessage(id=0)))
            reply = protocol.daemon_decoder.decode(_read_exactly(sock, protocol.frame_length(
                _read_exactly(sock, protocol.HEADER.size))))
            sock.settimeout(None)
        except (OSError, EOFError, ValueError):
            sock.close()
            return None
        if not isinstance(reply, PongReply) or reply.protocol != protocol.PROTOCOL_VERSION:
            sock.close()
            raise DaemonError(f"the daemon on {self.socket_path} speaks another protocol version; stop it with "
                              f"`fim-server serve --stop --socket {self.socket_path}` and retry")
        return sock

    def reconnect(self) -> None:
        self.close()
        self.connect()

    def close(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _read_replies(self, sock: socket.socket) -> None:
        try:
            while True:
                length = protocol.frame_length(_read_exactly(sock, protocol.HEADER.size))
                reply = protocol.daemon_decoder.decode(_read_exactly(sock, length))
                with self._lock:
                    future = self._pending.pop(reply.id, None)
                if future is not None:
                    future.set_result(reply)
                elif isinstance(reply, ErrorReply):
                    log.warning("daemon error without a matching request: %s", reply.message)
        except Exception as exc:  # whatever ends the stream, every waiting request must hear of it
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        with self._lock:
            if self._sock is sock:
                self._sock = None
            lost, self._pending = self._pending, {}
        for future in lost.values():
            future.set_exception(DaemonConnectionLost(f"connection to the daemon on {self.socket_path} lost ({reason})"))

    # -- requests -------------------------------------------------------------------

    def send(self, build) -> tuple[int, concurrent.futures.Future]:
        """Send ``build(id)`` and return (id, future of the reply)."""
        self.connect()
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if self._sock is None:
                raise DaemonConnectionLost(f"connection to the daemon on {self.socket_path} closed")
            request_id = next(self._ids)
            frame = protocol.encode_frame(build(request_id))
            self._pending[request_id] = future
            try:
                self._sock.sendall(frame)
            except OSError as exc:
                self._pending.pop(request_id, None)
                raise DaemonConnectionLost(f"could not send to the daemon on {self.socket_path}: {exc}") from None
        return request_id, future

    def ping(self, timeout: float = 10.0) -> PongReply:
        _, future = self.send(lambda id_: PingMessage(id=id_))
        return future.result(timeout=timeout)

    def cancel(self, target: int) -> None:
        try:
            self.send(lambda id_: CancelMessage(id=id_, target=target))
        except DaemonConnectionLost:
            pass  # the fill's own future reports the lost connection

    def shutdown(self, timeout: float = 10.0) -> None:
        _, future = self.send(lambda id_: ShutdownMessage(id=id_))
        future.result(timeout=timeout)


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    chunks, remaining = [], count
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the daemon closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def raise_for_reply(reply) -> FillResult:
    """Return the fill result of a reply, or raise the error it carries as the engine would."""
    if isinstance(reply, FilledReply):
        return reply.result
    if not isinstance(reply, ErrorReply):
        raise DaemonError(f"unexpected reply {type(reply).__name__} to a fill")
    errors = {
        protocol.CANCELLED: FillCancelled,
        protocol.DEADLINE_EXCEEDED: DeadlineExceeded,
        protocol.OVERLOADED: Overloaded,
        protocol.INVALID_REQUEST: ValueError,
    }
    raise errors.get(reply.code, DaemonError)(reply.message)
