"""inComments and inStrings reach the pipeline: nothing, one line or the whole block inside a comment."""

import pytest
import pytest_lsp
from lsprotocol import types
from lsp_helpers import initialize_params, inline, items_of, open_document, server_config, start_session
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

# The cursor sits on the blank line of a block comment, where code would get a block.
COMMENT_TEXT = "/*\n * Steps:\n \n */\nfunction run() {}\n"
DOCSTRING_TEXT = 'def run():\n    """Steps:\n    \n    """\n'
SCRIPT = {
    "rules": [
        {"after": " * Steps:\n ", "text": " * read the input\n * write the output"},
        {"after": '"""Steps:\n    ', "text": "Read the input.\n    Write the output."},
    ],
    "steps": 1,
}
FIRST_LINE = "* read the input"
BLOCK = "* read the input\n * write the output"


@pytest_lsp.fixture(config=server_config(SCRIPT), scope="module")
async def client(lsp_client: LanguageClient):
    """VS Code with suggestions in comments turned off by initializationOptions."""
    options = {"fimServer": {"inComments": "off", "inStrings": "off"}}
    await start_session(lsp_client, initialize_params("vscode_1.101", initialization_options=options))
    yield
    await lsp_client.shutdown_session()


def configure(client: LanguageClient, settings: dict) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"fimServer": settings}))


async def suggestions(client: LanguageClient, name: str, text: str, line: int, character: int,
                      language_id: str) -> list[str]:
    uri = f"file:///tmp/comment-policy/{name}"
    open_document(client, uri, text, language_id=language_id)
    return [item.insert_text for item in items_of(await inline(client, uri, line, character))]


async def test_comment_policy_follows_configuration(client: LanguageClient):
    assert await suggestions(client, "off.js", COMMENT_TEXT, 2, 1, "javascript") == []

    configure(client, {"inComments": "line"})
    assert await suggestions(client, "line.js", COMMENT_TEXT, 2, 1, "javascript") == [FIRST_LINE]

    configure(client, {"inComments": "on"})
    assert await suggestions(client, "on.js", COMMENT_TEXT, 2, 1, "javascript") == [BLOCK]

    configure(client, {"inComments": "off"})
    assert await suggestions(client, "off-again.js", COMMENT_TEXT, 2, 1, "javascript") == []


async def test_same_document_after_change(client: LanguageClient):
    configure(client, {"inComments": "on"})
    uri = "file:///tmp/comment-policy/same.js"
    open_document(client, uri, COMMENT_TEXT, language_id="javascript")
    assert [item.insert_text for item in items_of(await inline(client, uri, 2, 1))] == [BLOCK]
    configure(client, {"inComments": "line"})
    assert [item.insert_text for item in items_of(await inline(client, uri, 2, 1))] == [FIRST_LINE]


async def test_string_policy_follows_configuration(client: LanguageClient):
    configure(client, {"inStrings": "off", "inComments": "on"})
    assert await suggestions(client, "string-off.py", DOCSTRING_TEXT, 2, 4, "python") == []

    configure(client, {"inStrings": "line"})
    assert await suggestions(client, "string-line.py", DOCSTRING_TEXT, 2, 4, "python") == ["Read the input."]

    configure(client, {"inStrings": "on"})
    block = ["Read the input.\n    Write the output."]
    assert await suggestions(client, "string-on.py", DOCSTRING_TEXT, 2, 4, "python") == block
