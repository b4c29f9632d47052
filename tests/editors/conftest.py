"""Fixtures that run headless Neovim against the real ``fim-server lsp``.

Most tests set the server's scripted test engine, so they run without model weights."""

from __future__ import annotations

from pathlib import Path

import pytest
from nvim_session import NvimSession


def _starter(folder: Path):
    sessions: list[NvimSession] = []

    def start(environment: dict[str, str] | None = None) -> NvimSession:
        home = folder / f"nvim-{len(sessions)}"
        home.mkdir()
        session = NvimSession(home, environment or {})
        sessions.append(session)
        return session

    return start, sessions


@pytest.fixture
def start_nvim(tmp_path):
    """Start headless Neovim sessions with private XDG folders; all are closed afterwards."""
    start, sessions = _starter(tmp_path)
    yield start
    for session in sessions:
        session.close()


@pytest.fixture(scope="module")
def start_shared_nvim(tmp_path_factory):
    """Like ``start_nvim``, for one session that the tests of a module share (server start-up
    takes seconds on a busy machine)."""
    start, sessions = _starter(tmp_path_factory.mktemp("nvim"))
    yield start
    for session in sessions:
        session.close()
