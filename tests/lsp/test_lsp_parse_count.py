"""Each edit is parsed once: the pipeline reads the open document's tree instead of parsing its own copy."""

import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsp_helpers import (
    FAST_ENGINE,
    as_plain,
    initialize_params,
    inline,
    insert_text,
    items_of,
    open_document,
    server_env,
    start_session,
)
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

COUNTING_SERVER = Path(__file__).parent / "counting_server.py"
TEXT = "def add(a, b):\n    return a + b\n\n\nvalues = [1, 2, 3]\ntotal = \n\nprint(total)\n"
LINE, CHARACTER = 5, 8  # the end of "total = "
EDITS = 12


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, str(COUNTING_SERVER)],
                              server_env=server_env(FAST_ENGINE)),
    scope="module",
)
async def client(lsp_client: LanguageClient):
    await start_session(lsp_client, initialize_params("vscode_1.101"))
    yield
    await lsp_client.shutdown_session()


async def document_parses(client: LanguageClient) -> int:
    return as_plain(await client.protocol.send_request_async("test/documentParses", {}))["count"]


async def test_first_request_parses_once(client: LanguageClient):
    uri = "file:///tmp/parse-count/first.py"
    before = await document_parses(client)
    open_document(client, uri, TEXT)
    assert items_of(await inline(client, uri, LINE, CHARACTER))
    assert await document_parses(client) - before == 1


async def open_and_complete(client: LanguageClient, uri: str) -> int:
    """Open ``TEXT``, complete once, and return the parse count after that."""
    open_document(client, uri, TEXT)
    assert items_of(await inline(client, uri, LINE, CHARACTER))
    return await document_parses(client)


async def test_edits_then_one_request(client: LanguageClient):
    uri = "file:///tmp/parse-count/burst.py"
    before = await open_and_complete(client, uri)
    for typed in range(EDITS):
        insert_text(client, uri, 2 + typed, LINE, CHARACTER + typed, "x")
    assert items_of(await inline(client, uri, LINE, CHARACTER + EDITS))
    assert await document_parses(client) - before == 1  # the edits are parsed together, once


async def test_one_parse_per_edit_and_request(client: LanguageClient):
    uri = "file:///tmp/parse-count/typing.py"
    before = await open_and_complete(client, uri)
    for typed in range(EDITS):
        insert_text(client, uri, 2 + typed, LINE, CHARACTER + typed, "x")
        assert items_of(await inline(client, uri, LINE, CHARACTER + typed + 1))
    assert await document_parses(client) - before == EDITS
