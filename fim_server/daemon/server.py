"""The model daemon: one process owns the engine and serves fills on a Unix socket.

Each connection may have many fills in flight; the engine (usually a
``BatchedEngine``) runs them together. A ``cancel`` message, or the connection
closing, stops a fill within one denoising step. The daemon stops by itself
after ``idle_timeout`` seconds without any message or running fill.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import math
import os
import socket
import stat
import struct
import time
from pathlib import Path

import msgspec

from ..engine.types import EFFORTS, DeadlineExceeded, FillCancelled, FillControl, Overloaded
from . import protocol
from .protocol import (
    AckReply,
    CancelMessage,
    ErrorReply,
    FilledReply,
    FillMessage,
    PingMessage,
    PongReply,
    ShutdownMessage,
)

log = logging.getLogger("fim_server.daemon")

MAX_CANVAS_TOKENS = 4096


class DaemonAlreadyRunning(RuntimeError):
    """Another daemon already listens on the socket path."""


class _Connection:
    def __init__(self, writer: asyncio.StreamWriter, number: int) -> None:
        self.writer = writer
        self.number = number
        self.inflight: dict[int, FillControl] = {}

    async def send(self, message) -> None:
        if self.writer.is_closing():
            return
        try:
            self.writer.write(protocol.encode_frame(message))
            await self.writer.drain()
        except (ConnectionError, protocol.ProtocolError) as exc:
            log.info("could not reply on connection %d: %s", self.number, exc)


def peer_uid(writer: asyncio.StreamWriter) -> int | None:
    """Return the connecting process's user id (Linux SO_PEERCRED), or None where the platform lacks it."""
    sock = writer.get_extra_info("socket")
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


class DaemonServer:
    """Serve ``engine.fill`` on ``socket_path`` until ``stop()`` or the idle timeout."""

    def __init__(self, engine, *, socket_path: Path, idle_timeout: float = 1800.0, max_inflight: int = 128,
                 model: str | None = None, dtype: str | None = None, threads: int | None = None) -> None:
        self.engine = engine
        self.socket_path = Path(socket_path)
        self.idle_timeout = idle_timeout
        self.max_inflight = max_inflight
        self.model = model
        self.dtype = dtype
        self.threads = threads
        self.started = time.monotonic()
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=max_inflight,
                                                               thread_name_prefix="fim-daemon-fill")
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task] = set()
        self._running_fills = 0
        self._last_activity = time.monotonic()
        self._stopped = asyncio.Event()
        self._stop_reason = ""
        self._server: asyncio.AbstractServer | None = None
        self._socket_inode: int | None = None
        self._connection_count = 0
        # Requests that run outside the socket (the HTTP API's completions), which also keep the daemon up.
        self.outside_requests = lambda: 0

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        await self._remove_stale_socket()
        self._server = await asyncio.start_unix_server(self._serve_connection, path=str(self.socket_path),
                                                       limit=protocol.MAX_MESSAGE_BYTES)
        os.chmod(self.socket_path, 0o600)
        self._socket_inode = self.socket_path.stat().st_ino
        idle = f"{self.idle_timeout:g} s" if self.idle_timeout else "off"
        log.info("daemon listening on %s (pid %d, engine %s, idle timeout %s)", self.socket_path, os.getpid(),
                 getattr(self.engine, "kind", "?"), idle)

    async def run(self) -> str:
        """Serve until stopped; return the reason ("idle", "shutdown request", "signal ...")."""
        if self._server is None:
            await self.start()
        watchdog = asyncio.create_task(self._watch_idle())
        await self._stopped.wait()
        watchdog.cancel()
        await self.close()
        log.info("daemon stopped: %s", self._stop_reason)
        return self._stop_reason

    def touch(self) -> None:
        """Count activity outside the socket (HTTP requests) against the idle timeout."""
        self._last_activity = time.monotonic()

    def stop(self, reason: str) -> None:
        if not self._stopped.is_set():
            self._stop_reason = reason
            self._stopped.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            for control in connection.inflight.values():
                control.cancel()
            connection.writer.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self._remove_own_socket()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _remove_stale_socket(self) -> None:
        path = self.socket_path
        if not path.exists() and not path.is_symlink():
            return
        if path.is_symlink() or not stat.S_ISSOCK(path.stat().st_mode):
            raise DaemonAlreadyRunning(f"{path} exists and is not a socket, so it is left alone; remove it or pass "
                                       "another --socket")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), timeout=2)
        except (ConnectionRefusedError, FileNotFoundError, asyncio.TimeoutError, OSError):
            log.info("removing stale socket %s", path)
            path.unlink(missing_ok=True)
            return
        writer.close()
        raise DaemonAlreadyRunning(f"a daemon already listens on {path}; stop it first "
                                   "(`fim-server serve` shuts down after its idle timeout) or pass another --socket")

    def _remove_own_socket(self) -> None:
        try:
            if self.socket_path.stat().st_ino == self._socket_inode:
                self.socket_path.unlink()
        except FileNotFoundError:
            pass

    async def _watch_idle(self) -> None:
        if not self.idle_timeout:
            return
        period = min(5.0, self.idle_timeout / 4)
        while True:
            await asyncio.sleep(period)
            idle = time.monotonic() - self._last_activity
            # HTTP completions run on the engine without passing through the socket, so ask the engine too.
            engine_busy = getattr(self.engine, "active_requests", 0) + getattr(self.engine, "queue_depth", 0)
            busy = self._running_fills + engine_busy + self.outside_requests()
            if not busy and idle >= self.idle_timeout:
                self.stop(f"idle for {idle:.0f} s")
                return

    # -- connections -----------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        uid = peer_uid(writer)
        if uid is not None and uid != os.getuid():
            log.warning("rejected a connection from uid %d", uid)
            writer.close()
            return
        self._connection_count += 1
        connection = _Connection(writer, self._connection_count)
        self._connections.add(connection)
        try:
            await self._read_messages(reader, connection)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            for control in connection.inflight.values():
                control.cancel()  # the client is gone, so no one can read the reply
            self._connections.discard(connection)
            writer.close()

    async def _read_messages(self, reader: asyncio.StreamReader, connection: _Connection) -> None:
        while True:
            header = await reader.readexactly(protocol.HEADER.size)
            try:
                length = protocol.frame_length(header)
            except protocol.ProtocolError as exc:
                await connection.send(ErrorReply(id=0, code=protocol.INVALID_REQUEST, message=str(exc)))
                return  # the rest of the stream cannot be framed any more
            payload = await reader.readexactly(length)
            self._last_activity = time.monotonic()
            try:
                message = protocol.client_decoder.decode(payload)
            except msgspec.DecodeError as exc:
                await connection.send(ErrorReply(id=0, code=protocol.INVALID_REQUEST,
                                                 message=f"invalid message: {exc}"))
                continue
            await self._dispatch(connection, message)

    async def _dispatch(self, connection: _Connection, message) -> None:
        if isinstance(message, FillMessage):
            error = self._check_fill(connection, message)
            if error is not None:
                await connection.send(ErrorReply(id=message.id, code=error[0], message=error[1]))
                return
            deadline = None if message.timeout_ms is None else time.monotonic() + message.timeout_ms / 1000
            control = FillControl(deadline, message.budget_ms)
            connection.inflight[message.id] = control
            task = asyncio.create_task(self._run_fill(connection, message, control))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif isinstance(message, CancelMessage):
            control = connection.inflight.get(message.target)
            if control is not None:
                control.cancel()
            await connection.send(AckReply(id=message.id))
        elif isinstance(message, PingMessage):
            await connection.send(self._pong(message.id))
        elif isinstance(message, ShutdownMessage):
            await connection.send(AckReply(id=message.id))
            self.stop("shutdown request")

    def _check_fill(self, connection: _Connection, message: FillMessage) -> tuple[str, str] | None:
        if message.id in connection.inflight:
            return protocol.INVALID_REQUEST, f"id {message.id} is already in flight on this connection; use a new id"
        if message.effort not in EFFORTS:
            return protocol.INVALID_REQUEST, f"invalid effort {message.effort!r}: use one of {', '.join(EFFORTS)}"
        if not 1 <= message.canvas_tokens <= MAX_CANVAS_TOKENS:
            return protocol.INVALID_REQUEST, (f"invalid canvas_tokens {message.canvas_tokens}: "
                                              f"use 1 to {MAX_CANVAS_TOKENS}")
        if message.timeout_ms is not None and not 0 < message.timeout_ms < math.inf:
            return protocol.INVALID_REQUEST, f"invalid timeout_ms {message.timeout_ms}: use a positive number"
        if message.budget_ms is not None and not 0 < message.budget_ms < math.inf:
            return protocol.INVALID_REQUEST, f"invalid budget_ms {message.budget_ms}: use a positive number"
        if self._running_fills >= self.max_inflight:
            return protocol.OVERLOADED, (f"daemon overloaded: {self._running_fills} fills running "
                                         f"(limit {self.max_inflight}); retry shortly")
        return None

    async def _run_fill(self, connection: _Connection, message: FillMessage, control: FillControl) -> None:
        self._running_fills += 1
        call = functools.partial(self.engine.fill, message.prefix, message.suffix,
                                 canvas_tokens=message.canvas_tokens, effort=message.effort, should_stop=control)
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._executor, call)
            reply = FilledReply(id=message.id, result=result)
        except Exception as exc:
            reply = self._error_reply(message.id, exc, control)
        finally:
            self._running_fills -= 1
            self._last_activity = time.monotonic()
            connection.inflight.pop(message.id, None)
        await connection.send(reply)

    @staticmethod
    def _error_reply(id_: int, exc: Exception, control: FillControl) -> ErrorReply:
        if isinstance(exc, DeadlineExceeded) or (isinstance(exc, FillCancelled) and control.expired):
            return ErrorReply(id=id_, code=protocol.DEADLINE_EXCEEDED, message="the request deadline passed")
        if isinstance(exc, FillCancelled):
            return ErrorReply(id=id_, code=protocol.CANCELLED, message=f"fill {id_} was cancelled")
        if isinstance(exc, Overloaded):
            return ErrorReply(id=id_, code=protocol.OVERLOADED, message=str(exc))
        if isinstance(exc, ValueError):
            return ErrorReply(id=id_, code=protocol.INVALID_REQUEST, message=str(exc))
        log.error("fill %d failed: %s: %s", id_, type(exc).__name__, exc, exc_info=exc)
        return ErrorReply(id=id_, code=protocol.INTERNAL_ERROR, message=f"{type(exc).__name__}: {exc}")

    def _pong(self, id_: int) -> PongReply:
        stats: dict[str, float] = {"connections": float(len(self._connections))}
        batch_stats = getattr(self.engine, "stats", None)
        if batch_stats is not None:
            stats["steps"] = float(batch_stats.steps)
            stats["queue_depth"] = float(self.engine.queue_depth)
            stats["active_requests"] = float(self.engine.active_requests)
        return PongReply(id=id_, protocol=protocol.PROTOCOL_VERSION, pid=os.getpid(),
                         engine=getattr(self.engine, "kind", "unknown"), model=self.model,
                         uptime_s=time.monotonic() - self.started, inflight=self._running_fills, stats=stats,
                         dtype=self.dtype, threads=self.threads)
