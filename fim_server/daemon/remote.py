"""``RemoteEngine``: the engine contract of ``DiffusionEngine.fill``, served by the shared daemon."""

from __future__ import annotations

import concurrent.futures
import logging
import time
from pathlib import Path

from ..engine.types import FillCancelled, FillResult
from .client import DaemonClient, DaemonConnectionLost, DaemonError, raise_for_reply
from .protocol import FillMessage, PongReply

log = logging.getLogger("fim_server.daemon.remote")


def spawn_args_from_settings(settings) -> list[str]:
    """Command-line options that make a started daemon load the model these settings name."""
    return ["--model", str(settings.model), "--dtype", settings.dtype, "--threads", str(settings.threads),
            "--effort", settings.effort, "--idle-timeout", str(settings.idle_timeout)]


def check_daemon_settings(pong: PongReply, socket_path: Path, *, model: str | Path | None, dtype: str | None,
                          threads: int | None) -> None:
    """Compare a running daemon with the client's settings, and raise DaemonError for another model or dtype.

    Another model folder or dtype can change the completions, so the client
    stops with an error that names the fix. Another thread count changes
    the speed, not the model, so it is logged as a warning and the daemon is used.
    """
    restart = (f"stop it with `fim-server serve --stop --socket {socket_path}` so that the next request starts one "
               "with this client's settings, or give this client another socket")
    if model is not None and pong.model is not None and Path(pong.model).resolve() != Path(model).resolve():
        raise DaemonError(f"the daemon on {socket_path} serves the model {pong.model}, not {model}. "
                          f"To fix this, {restart}")
    # "auto" accepts the daemon's choice: a daemon on this machine made the same one.
    if dtype not in (None, "auto") and pong.dtype is not None and pong.dtype != dtype:
        raise DaemonError(f"the daemon on {socket_path} runs the model in dtype {pong.dtype}, not {dtype} as "
                          f"configured. To fix this, {restart}")
    if threads is not None and pong.threads is not None and pong.threads != threads:
        log.warning("the daemon on %s runs with threads=%d, not threads=%d as configured, and is used because the "
                    "model and dtype match. To apply the thread count, %s", socket_path, pong.threads, threads,
                    restart)


class RemoteEngine:
    """Fill through the daemon; start it when needed and survive one crash per fill.

    ``should_stop`` is polled every ``poll_interval`` seconds while the daemon
    works; when it turns true the daemon gets a cancel message and ``fill``
    raises ``FillCancelled``. A ``should_stop`` with a ``deadline`` attribute
    (``FillControl``) also sends its remaining time budget to the daemon.
    """

    kind = "remote"

    def __init__(self, client: DaemonClient | None = None, *, socket_path: str | Path | None = None,
                 spawn_args: list[str] | None = None, poll_interval: float = 0.02) -> None:
        self.client = client or DaemonClient(socket_path, spawn_args=spawn_args)
        self.poll_interval = poll_interval

    @classmethod
    def from_settings(cls, settings, *, socket_path: str | Path | None = None) -> "RemoteEngine":
        return cls(socket_path=socket_path, spawn_args=spawn_args_from_settings(settings))

    def connect(self, model: str | Path | None = None, *, dtype: str | None = None,
                threads: int | None = None) -> PongReply:
        """Connect, starting the daemon when none runs, and check that it serves what the caller configured.

        Raises DaemonError, also when the running daemon serves another model
        folder or dtype. Another thread count only logs a warning. A None
        argument, or a field the daemon does not report, is not checked.
        """
        socket_path = self.client.socket_path
        self.client.connect()
        try:
            pong = self.client.ping()
        except TimeoutError:
            raise DaemonError(f"the daemon on {socket_path} did not reply to a ping within 10 s; "
                              f"see {socket_path.with_suffix('.log')}") from None
        check_daemon_settings(pong, socket_path, model=model, dtype=dtype, threads=threads)
        log.info("using the model daemon on %s (pid %d, %s engine, model %s, dtype %s, threads %s)", socket_path,
                 pong.pid, pong.engine, pong.model, pong.dtype, pong.threads)
        return pong

    def daemon_info(self) -> dict:
        """Return the socket path and the pids of the daemons this engine started, oldest first."""
        return {"socket": str(self.client.socket_path), "startedPids": list(self.client.started_pids)}

    def fill(self, prefix: str, suffix: str, *, canvas_tokens: int, effort: str = "low",
             should_stop=None) -> FillResult:
        """Denoise through the daemon. Raises FillCancelled, DeadlineExceeded, Overloaded, ValueError or DaemonError."""
        try:
            return self._fill_once(prefix, suffix, canvas_tokens, effort, should_stop)
        except DaemonConnectionLost as exc:
            if should_stop is not None and should_stop():
                raise FillCancelled() from exc
            log.warning("%s; restarting the daemon and retrying the fill once", exc)
        self.client.reconnect()
        try:
            return self._fill_once(prefix, suffix, canvas_tokens, effort, should_stop)
        except DaemonConnectionLost as exc:
            raise DaemonError(f"the daemon failed twice during one fill: {exc}") from exc

    def _fill_once(self, prefix: str, suffix: str, canvas_tokens: int, effort: str, should_stop) -> FillResult:
        deadline = getattr(should_stop, "deadline", None)
        timeout_ms = None if deadline is None else max(1.0, (deadline - time.monotonic()) * 1000)
        fill_id, future = self.client.send(lambda id_: FillMessage(
            id=id_, prefix=prefix, suffix=suffix, canvas_tokens=canvas_tokens, effort=effort, timeout_ms=timeout_ms,
            budget_ms=getattr(should_stop, "budget_ms", None)))
        cancel_sent = False
        while not concurrent.futures.wait([future], timeout=self.poll_interval).done:
            if not cancel_sent and should_stop is not None and should_stop():
                self.client.cancel(fill_id)
                cancel_sent = True
        return raise_for_reply(future.result())

    def close(self) -> None:
        self.client.close()
