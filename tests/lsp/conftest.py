"""Session-scoped language servers shared by the LSP tests (each test uses its own URIs)."""

import pytest_lsp
from lsp_helpers import FAST_ENGINE, SLOW_ENGINE, initialize_params, server_config, start_session
from pytest_lsp import LanguageClient


@pytest_lsp.fixture(scope="session", config=server_config(FAST_ENGINE))
async def vscode(lsp_client: LanguageClient):
    """A server with the fast scripted engine, initialized as VS Code 1.101."""
    lsp_client.initialize_result = await start_session(lsp_client, initialize_params("vscode_1.101"))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(scope="session", config=server_config(FAST_ENGINE))
async def neovim(lsp_client: LanguageClient):
    """A server with the fast scripted engine, initialized as Neovim 0.11."""
    lsp_client.initialize_result = await start_session(lsp_client, initialize_params("neovim_0.11"))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(scope="session", config=server_config(SLOW_ENGINE))
async def slow(lsp_client: LanguageClient):
    """VS Code against an engine that takes about one second per call (40 steps of 25 ms)."""
    lsp_client.initialize_result = await start_session(lsp_client, initialize_params("vscode_1.101"))
    yield
    await lsp_client.shutdown_session()
