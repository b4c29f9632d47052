"""Where the daemon's socket, lock and log live: a private per-user runtime folder.

``$XDG_RUNTIME_DIR/fim-server`` when the session has a runtime directory (it is
per-user and mode 0700 by the XDG specification), else
``<temp dir>/fim-server-<uid>``, created with mode 0700. An existing folder
that another user owns, or that others can open, is rejected, because anyone
who can reach the socket can use the model.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger("fim_server.daemon")

SOCKET_NAME = "daemon.sock"  # the lock and log files sit next to it: daemon.lock, daemon.log
MAX_SOCKET_PATH_BYTES = 107  # sun_path is 108 bytes on Linux, including the terminating NUL


class LocationError(RuntimeError):
    """The runtime folder or socket path is unusable; the message says why and what to do."""


def runtime_dir(environ=None) -> Path:
    """Create (if needed) and check the private folder for the socket, lock and log."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_RUNTIME_DIR")
    if base and not os.path.isabs(base):
        base = None  # the XDG Base Directory specification requires ignoring a relative path
    folder = Path(base) / "fim-server" if base else Path(tempfile.gettempdir()) / f"fim-server-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, parents=bool(base), exist_ok=True)
    except OSError as exc:
        raise LocationError(f"cannot create the runtime folder {folder}: {exc}") from None
    check_private(folder)
    return folder


def check_private(folder: Path) -> None:
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise LocationError(f"runtime folder {folder} is not a directory; remove it or set XDG_RUNTIME_DIR")
    if info.st_uid != os.getuid():
        raise LocationError(f"runtime folder {folder} belongs to uid {info.st_uid}, not to you ({os.getuid()}); "
                            "remove it or set XDG_RUNTIME_DIR to a private folder")
    if info.st_mode & 0o077:
        raise LocationError(f"runtime folder {folder} has mode {stat.S_IMODE(info.st_mode):o}; "
                            f"others must have no access: run `chmod 700 {folder}`")


def default_socket_path(environ=None) -> Path:
    return check_socket_path(runtime_dir(environ) / SOCKET_NAME)


def check_socket_path(path: Path) -> Path:
    """Return ``path`` if the daemon can bind a socket there; raise LocationError naming the fix if not.

    A folder that other users can write to is allowed with a warning: they
    could put their own socket at the path before the daemon starts.
    """
    if not path.is_absolute():
        raise LocationError(f"invalid socket path {path}: not an absolute path; use one, so that every editor "
                            "finds the same socket")
    if len(os.fsencode(str(path))) > MAX_SOCKET_PATH_BYTES:
        raise LocationError(f"socket path {path} is longer than {MAX_SOCKET_PATH_BYTES} bytes, the limit for "
                            "Unix sockets; pass a shorter --socket path")
    folder = path.parent
    if not folder.is_dir():
        raise LocationError(f"invalid socket path {path}: folder {folder} does not exist; create it with mode 700 "
                            "or pass another --socket")
    if folder.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        log.warning("the socket folder %s is writable by other users, who could put their own socket at %s "
                    "first; use a folder with mode 700", folder, path)
    return path

