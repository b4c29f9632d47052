"""Requests whose parameters do not decode get one error reply instead of none.

The client here writes raw JSON-RPC, because typed clients cannot build such
parameters (lsprotocol validates positions when they are constructed).
"""

import asyncio
import json

import pytest
from lsp_helpers import FAST_ENGINE, SERVER_COMMAND, server_env

URI = "file:///tmp/invalid-params/doc.py"
INVALID_PARAMS = -32602


class RawClient:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.next_id = 0

    async def send(self, message: dict) -> None:
        await self.send_body(json.dumps({"jsonrpc": "2.0", **message}).encode())

    async def send_body(self, body: bytes) -> None:
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await self.process.stdin.drain()

    async def next_response(self) -> dict:
        """Return the next response, skipping the server's notifications."""
        while True:
            message = await asyncio.wait_for(self.receive(), timeout=60)
            if "method" not in message:
                return message

    async def receive(self) -> dict:
        length = None
        while True:
            header = await self.process.stdout.readline()
            if not header:
                raise EOFError("the server closed its output")
            if header.lower().startswith(b"content-length:"):
                length = int(header.split(b":")[1])
            elif header == b"\r\n" and length is not None:
                return json.loads(await self.process.stdout.readexactly(length))

    async def request(self, method: str, params) -> dict:
        """Send a request and return its response, skipping the server's notifications and requests."""
        self.next_id += 1
        await self.send({"id": self.next_id, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.receive(), timeout=60)
            if "method" not in message and message.get("id") == self.next_id:
                return message
            if "method" in message and "id" in message:  # workspace/configuration and the like
                await self.send({"id": message["id"], "result": [None]})


@pytest.fixture
async def raw_client():
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, env=server_env(FAST_ENGINE))
    client = RawClient(process)
    capabilities = {"textDocument": {"inlineCompletion": {}}}
    await client.request("initialize", {"processId": None, "rootUri": None, "capabilities": capabilities})
    await client.send({"method": "initialized", "params": {}})
    await client.send({"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": URI, "languageId": "python", "version": 1, "text": "total = "}}})
    yield client
    await client.request("shutdown", None)
    await client.send({"method": "exit", "params": None})
    assert await asyncio.wait_for(process.wait(), timeout=30) == 0


def inline_params(position) -> dict:
    params = {"textDocument": {"uri": URI}, "context": {"triggerKind": 1}}
    if position is not None:
        params["position"] = position
    return params


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        (inline_params({"line": -1, "character": 0}), "$.params.position"),
        (inline_params({"line": 2**31, "character": 0}), "$.params.position"),
        (inline_params({"line": 0, "character": -3}), "$.params.position"),
        (inline_params(None), "required field missing @ $.params.position"),
        (None, "$.params"),
    ],
    ids=["negative line", "line above uinteger", "negative character", "no position", "null params"],
)
async def test_undecodable_params_get_error(raw_client, params, detail):
    reply = await raw_client.request("textDocument/inlineCompletion", params)
    assert "result" not in reply
    assert reply["error"]["code"] == INVALID_PARAMS
    assert "invalid textDocument/inlineCompletion request" in reply["error"]["message"]
    assert detail in reply["error"]["message"]


async def test_server_serves_after_invalid_params(raw_client):
    bad = await raw_client.request("textDocument/inlineCompletion", inline_params({"line": -5, "character": 0}))
    assert bad["error"]["code"] == INVALID_PARAMS
    good = await raw_client.request("textDocument/inlineCompletion", inline_params({"line": 0, "character": 8}))
    assert "error" not in good
    assert [item["insertText"] for item in good["result"]] == ["compute_total(items)"]


PARSE_ERROR, INVALID_REQUEST = -32700, -32600


@pytest.mark.parametrize(
    ("body", "code", "reply_id", "detail"),
    [
        (b'{"jsonrpc": "2.0", "id": 5, "method": ', PARSE_ERROR, None, "not valid JSON"),
        (b'{"jsonrpc": "2.0", "id": 5, "method": "shutdown", "x": "\xff"}', PARSE_ERROR, None, "not valid UTF-8"),
        (b"[1, 2]", INVALID_REQUEST, None, "not a JSON object but a JSON array"),
        (b"42", INVALID_REQUEST, None, "not a JSON object but a JSON number"),
        (b'{"id": 9, "method": "shutdown"}', INVALID_REQUEST, 9, 'no "jsonrpc": "2.0" member'),
        (b'{"jsonrpc": "1.0", "id": "a", "method": "shutdown"}', INVALID_REQUEST, "a", 'is "1.0", not "2.0"'),
        (b'{"jsonrpc": 2.0, "id": 10, "method": "shutdown"}', INVALID_REQUEST, 10, 'is 2.0, not "2.0"'),
        (b'{"jsonrpc": "2.0", "id": [1], "method": "shutdown"}', INVALID_REQUEST, None, "id [1] is not a string"),
        (b'{"jsonrpc": "2.0", "id": 11, "method": 7}', INVALID_REQUEST, 11, "method 7 is not a string"),
    ],
    ids=["cut json", "invalid utf-8", "array", "number", "no version", "old version", "numeric version",
         "array id", "numeric method"],
)
async def test_unreadable_message_gets_error(raw_client, body, code, reply_id, detail):
    await raw_client.send_body(body)
    reply = await raw_client.next_response()
    assert reply["id"] == reply_id
    assert reply["error"]["code"] == code
    assert detail in reply["error"]["message"]
    good = await raw_client.request("textDocument/inlineCompletion", inline_params({"line": 0, "character": 8}))
    assert [item["insertText"] for item in good["result"]] == ["compute_total(items)"]


SERVER_NOT_INITIALIZED = -32002


async def test_request_before_initialize_is_rejected():
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, env=server_env(FAST_ENGINE))
    client = RawClient(process)
    await client.send({"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": URI, "languageId": "python", "version": 1, "text": "total = "}}})
    early = await client.request("fimServer/stats", None)
    assert early["error"]["code"] == SERVER_NOT_INITIALIZED
    assert "before initialize" in early["error"]["message"]
    await client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    await client.send({"method": "initialized", "params": {}})
    stats = await client.request("fimServer/stats", None)
    assert "error" not in stats
    # The didOpen before initialize was dropped, so the document is not open.
    reply = await client.request("textDocument/inlineCompletion", inline_params({"line": 0, "character": 8}))
    assert reply["error"]["code"] == INVALID_PARAMS
    assert "document not open" in reply["error"]["message"]
    await client.request("shutdown", None)
    await client.send({"method": "exit", "params": None})
    await asyncio.wait_for(process.wait(), timeout=30)


SHUTDOWN_BODY = b'{"jsonrpc": "2.0", "id": 12, "method": "shutdown"}'


@pytest.mark.parametrize(
    ("frame", "detail"),
    [
        (b"Content-Type: application/vscode-jsonrpc\r\n\r\n" + SHUTDOWN_BODY, "no Content-Length header"),
        (b"Content-Length: many\r\n\r\n" + SHUTDOWN_BODY, 'Content-Length header "many"'),
        (b"Content-Length: 0\r\n\r\n", "body is empty"),
        (b"Content-Length: %d\r\n" % len(SHUTDOWN_BODY) + SHUTDOWN_BODY, 'is not "Name: value"'),
        (b"garbage", "7 bytes outside any frame were skipped"),
        (b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n" + SHUTDOWN_BODY, "is too large"),
        (b'Content-Type: x\r\n\r\n{"jsonrpc": "2.0", "id": 12, "method": "shutdown", '
         b'"params": {"note": "Content-Length: 5\\r\\n\\r\\n"}}', "no Content-Length header"),
    ],
    ids=["no length", "non-numeric length", "empty body", "no empty line", "junk", "huge length",
         "length text in body"],
)
async def test_broken_frame_then_next_served(raw_client, frame, detail):
    # The request goes out right behind the broken frame: a server that reads header lines cannot
    # see where a frame without an empty line ends before more bytes arrive. The broken frame's
    # shutdown must not run, and the request must get its reply.
    raw_client.process.stdin.write(frame)
    raw_client.next_id += 1
    await raw_client.send({"id": raw_client.next_id, "method": "textDocument/inlineCompletion",
                           "params": inline_params({"line": 0, "character": 8})})
    reply = await raw_client.next_response()
    assert reply["id"] is None
    assert reply["error"]["code"] == PARSE_ERROR
    assert detail in reply["error"]["message"]
    good = await raw_client.next_response()
    assert good["id"] == raw_client.next_id
    assert [item["insertText"] for item in good["result"]] == ["compute_total(items)"]


async def test_exit_without_shutdown_exits_with_1():
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, env=server_env(FAST_ENGINE))
    client = RawClient(process)
    await client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    await client.send({"method": "exit", "params": None})
    assert await asyncio.wait_for(process.wait(), timeout=30) == 1


async def test_nested_jsonrpc_member_is_params(raw_client):
    # Only the top-level object is a JSON-RPC message; an object inside params may have any members.
    params = inline_params({"line": 0, "character": 8})
    params["context"]["note"] = {"jsonrpc": 2, "id": [1]}
    raw_client.next_id += 1
    await raw_client.send({"id": raw_client.next_id, "method": "textDocument/inlineCompletion", "params": params})
    reply = await raw_client.next_response()
    assert reply["id"] == raw_client.next_id  # no error reply for the nested object comes first
    assert "error" not in reply
    assert [item["insertText"] for item in reply["result"]] == ["compute_total(items)"]
