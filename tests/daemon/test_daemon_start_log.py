"""The daemon's start-up log line states the idle timeout with its unit, or "off"."""

import logging
import tempfile
from pathlib import Path

import pytest

from fim_server.daemon.server import DaemonServer
from fim_server.engine.fake import FakeEngine


@pytest.mark.parametrize(("idle_timeout", "shown"), [(1800.0, "idle timeout 1800 s)"), (0.5, "idle timeout 0.5 s)"),
                                                     (0, "idle timeout off)")])
async def test_start_log_names_idle_timeout(caplog, idle_timeout, shown):
    # A short folder name, because a Unix socket path has at most 107 bytes on Linux and 103 on macOS.
    with tempfile.TemporaryDirectory(prefix="fimd-") as folder:
        server = DaemonServer(FakeEngine(), socket_path=Path(folder) / "d.sock", idle_timeout=idle_timeout)
        with caplog.at_level(logging.INFO, logger="fim_server.daemon"):
            await server.start()
        await server.close()
    started = [record.getMessage() for record in caplog.records if "daemon listening on" in record.getMessage()]
    assert len(started) == 1
    assert started[0].endswith(shown)
