"""Start the language server on stdio (or TCP on 127.0.0.1 for debugging).

stdout carries the protocol and nothing else. Logs go to stderr or to
``--log-file``. The protocol writes to a duplicate of the original stdout
descriptor, while descriptor 1 and ``sys.stdout`` are pointed at stderr, so a
stray ``print`` or a native library writing to stdout cannot corrupt the stream.
"""

from __future__ import annotations

import logging
import os
import sys

from pygls.exceptions import JsonRpcException

from ..config import Settings, load_settings_keeping_valid
from .handlers import register
from .server import FimLanguageServer
from .settings import LspSettings

log = logging.getLogger("fim_server.lsp")

LOOPBACK = "127.0.0.1"
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


class ErrorReplyFilter(logging.Filter):
    """Drop pygls's traceback for error replies that the handlers raise on purpose.

    The handlers log those errors in one line themselves; an unexpected
    exception still reaches the log with its traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, JsonRpcException)


def configure_logging(log_file: str | None, verbose: bool) -> None:
    """Send logs to ``log_file`` (appended) or stderr; pygls's own chatter only in verbose mode."""
    target = {"filename": log_file, "encoding": "utf-8"} if log_file else {"stream": sys.stderr}
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT, force=True, **target)
    logging.getLogger("pygls").setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("pygls.protocol.json_rpc").addFilter(ErrorReplyFilter())


def server_settings(args) -> tuple[Settings, str | None]:
    """Return the server configuration without its invalid values, and what was left out.

    The server starts either way, so that the editor can show the problems;
    each invalid value gives way to the one below it (a flag to the environment,
    the environment to the config file, the file to the built-in default).
    """
    from ..cli import setting_overrides

    settings, problems = load_settings_keeping_valid(setting_overrides(args))
    return settings, "; ".join(problems) or None


def build_server(args) -> FimLanguageServer:
    settings, error = server_settings(args)
    if error:
        log.error("%s; starting without the invalid values", error)
    base = LspSettings(effort=settings.effort, max_lines=settings.max_lines, min_confidence=settings.min_confidence)
    server = FimLanguageServer(server_settings=settings, base=base, startup_error=error)
    register(server)
    return server


def run(args) -> int:
    configure_logging(args.log_file, args.verbose)
    server = build_server(args)
    if args.tcp:
        log.info("fim-server lsp listening on %s:%d", LOOPBACK, args.port)
        server.start_tcp(LOOPBACK, args.port)
        return server.exit_code
    sys.stdout.flush()
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    log.info("fim-server lsp ready on stdio (%s engine)", server.engine_kind)
    server.start_io(sys.stdin.buffer, protocol_out)
    return server.exit_code


__all__ = ["build_server", "run"]
