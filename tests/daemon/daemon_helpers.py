"""Helpers for tests that start daemons: short socket paths and a shutdown that tolerates a dead daemon."""

import tempfile
import time
from pathlib import Path

from fim_server.daemon.client import DaemonClient, DaemonError


def short_socket_path(prefix: str = "fimd-") -> Path:
    """A socket path well under the 107-byte limit (pytest's tmp_path can be too long)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp")) / "daemon.sock"


def stop_daemon(client: DaemonClient) -> None:
    """Ask the client's daemon to shut down, if one still listens, and close the connection."""
    try:
        client.shutdown()
    except (DaemonError, OSError):
        pass
    client.close()


def wait_until(condition, timeout: float = 60.0) -> bool:
    """Poll ``condition`` until it returns true or ``timeout`` seconds pass; return whether it did."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if condition():
            return True
        time.sleep(0.05)
    return False
