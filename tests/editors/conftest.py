"""Fixtures that run real editors (headless Neovim, the VS Code extension under Node) against
the real ``fim-server lsp``; most use the scripted test engine so they run without weights."""

from __future__ import annotations

import pytest
from nvim_session import NvimSession


@pytest.fixture
def start_nvim(tmp_path):
    """Start headless Neovim sessions with private XDG folders; all are closed afterwards."""
    sessions: list[NvimSession] = []

    def start(environment: dict[str, str] | None = None) -> NvimSession:
        home = tmp_path / f"nvim-{len(sessions)}"
        home.mkdir()
        session = NvimSession(home, environment or {})
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.close()
