"""Transports and logs: stdout carries only protocol frames, --log-file, --tcp on 127.0.0.1."""

import asyncio
import json
import socket
import subprocess
import time

import pytest
from lsprotocol.converters import get_converter
from lsp_helpers import FAST_ENGINE, SERVER_COMMAND, initialize_params, inline, items_of, open_document, server_env
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="session")

MESSAGE_TIMEOUT_S = 120


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frame(stream) -> dict | None:
    """Read one Content-Length framed message; None at end of stream. Anything else fails the test."""
    headers = {}
    while True:
        line = stream.readline()
        if not line:
            assert not headers, f"stream ended inside headers {headers}"
            return None
        if line == b"\r\n":
            break
        name, _, value = line.decode("ascii").partition(":")
        assert value, f"not a header line on stdout: {line!r}"
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers["content-length"]))
    return json.loads(body)


def read_until(process: subprocess.Popen, msg_id) -> list[dict]:
    """Read messages up to the reply to ``msg_id``; reply to workspace/configuration as a client does."""
    messages = []
    while True:
        message = read_frame(process.stdout)
        assert message is not None, f"stdout closed before the reply to {msg_id!r}"
        messages.append(message)
        if message.get("method") == "workspace/configuration":
            process.stdin.write(frame({"jsonrpc": "2.0", "id": message["id"], "result": [None]}))
            process.stdin.flush()
        if message.get("id") == msg_id and "method" not in message:
            return messages


def initialize_message() -> dict:
    params = initialize_params("vscode_1.101")
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": get_converter().unstructure(params)}


def run_session(extra_args: list[str]) -> tuple[list[dict], str]:
    """Drive a short session over raw stdio; return every stdout message and stderr."""
    process = subprocess.Popen([*SERVER_COMMAND, *extra_args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=server_env(FAST_ENGINE))
    try:
        process.stdin.write(frame(initialize_message()))
        process.stdin.flush()
        messages = read_until(process, 1)
        document = {"uri": "file:///tmp/transport/a.py", "languageId": "python", "version": 1, "text": "total = "}
        for message in (
            {"jsonrpc": "2.0", "method": "initialized", "params": {}},
            {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": document}},
            {"jsonrpc": "2.0", "id": 2, "method": "textDocument/inlineCompletion",
             "params": {"textDocument": {"uri": document["uri"]}, "position": {"line": 0, "character": 8},
                        "context": {"triggerKind": 1}}},
        ):
            process.stdin.write(frame(message))
        process.stdin.flush()
        messages += read_until(process, 2)
        process.stdin.write(frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}))
        process.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        process.stdin.flush()
        while (message := read_frame(process.stdout)) is not None:
            messages.append(message)
        stderr = process.stderr.read().decode("utf-8", "replace")
        assert process.wait(timeout=MESSAGE_TIMEOUT_S) == 0
        return messages, stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def reply(messages: list[dict], msg_id: int) -> dict:
    [found] = [message for message in messages if message.get("id") == msg_id and "method" not in message]
    return found


async def test_stdout_has_only_protocol_frames(tmp_path):
    log_file = tmp_path / "lsp.log"
    messages, stderr = await asyncio.to_thread(run_session, ["--log-file", str(log_file)])
    assert all(message["jsonrpc"] == "2.0" for message in messages)
    assert reply(messages, 1)["result"]["capabilities"]["inlineCompletionProvider"] is not None
    assert reply(messages, 2)["result"][0]["insertText"] == "compute_total(items)"
    assert reply(messages, 3)["result"] is None
    logged = [m["params"]["message"] for m in messages if m.get("method") == "window/logMessage"]
    assert any("model ready" in text for text in logged)
    written = log_file.read_text(encoding="utf-8")
    assert "fim-server lsp ready on stdio" in written
    assert "initialize from Visual Studio Code" in written
    assert "fim-server lsp ready" not in stderr  # --log-file takes the logs off stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def connect(port: int, deadline: float) -> LanguageClient:
    while True:
        client = LanguageClient()
        try:
            await client.start_tcp("127.0.0.1", port)
            return client
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_tcp_on_loopback():
    port = free_port()
    process = subprocess.Popen([*SERVER_COMMAND, "--tcp", "--port", str(port)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=server_env(FAST_ENGINE))
    try:
        client = await connect(port, time.monotonic() + MESSAGE_TIMEOUT_S)
        await client.initialize_session(initialize_params("vscode_1.101"))
        uri = "file:///tmp/transport/tcp.py"
        open_document(client, uri, "total = ")
        assert [item.insert_text for item in items_of(await inline(client, uri, 0, 8))] == ["compute_total(items)"]
        # A second client is turned away, and the first one is still served.
        second_reader, second_writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(second_reader.read(), timeout=MESSAGE_TIMEOUT_S) == b""
        second_writer.close()
        assert [item.insert_text for item in items_of(await inline(client, uri, 0, 8))] == ["compute_total(items)"]
        await client.shutdown_async(None)
        client.exit(None)
        assert await asyncio.to_thread(process.wait, MESSAGE_TIMEOUT_S) == 0
        await client.stop()
        stderr = process.stderr.read().decode("utf-8", "replace")
        assert f"listening on 127.0.0.1:{port}" in stderr
        assert "another client is connected" in stderr
        assert "Traceback" not in stderr
        assert process.stdout.read() == b""  # TCP mode writes nothing to stdout
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()



def send_rejected_requests() -> tuple[list[dict], str, int]:
    """Send requests with invalid and without params, then one after shutdown; return stdout, stderr, exit code."""
    process = subprocess.Popen(SERVER_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=server_env(FAST_ENGINE))
    try:
        process.stdin.write(frame(initialize_message()))
        process.stdin.flush()
        messages = read_until(process, 1)
        process.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        process.stdin.write(frame({"jsonrpc": "2.0", "id": 5, "method": "textDocument/inlineCompletion",
                                   "params": {"textDocument": {"uri": "file:///tmp/a.py"},
                                              "position": {"line": -1, "character": 0},
                                              "context": {"triggerKind": 1}}}))
        process.stdin.flush()
        messages += read_until(process, 5)
        process.stdin.write(frame({"jsonrpc": "2.0", "id": 6, "method": "fimServer/stats"}))  # params left out
        process.stdin.flush()
        messages += read_until(process, 6)
        process.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        process.stdin.flush()
        messages += read_until(process, 2)
        process.stdin.write(frame({"jsonrpc": "2.0", "id": 3, "method": "textDocument/inlineCompletion",
                                   "params": {"textDocument": {"uri": "file:///tmp/a.py"},
                                              "position": {"line": 0, "character": 0},
                                              "context": {"triggerKind": 1}}}))
        process.stdin.flush()
        messages += read_until(process, 3)
        process.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        process.stdin.flush()
        while (message := read_frame(process.stdout)) is not None:
            messages.append(message)
        stderr = process.stderr.read().decode("utf-8", "replace")
        return messages, stderr, process.wait(timeout=MESSAGE_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_rejected_requests_get_replies():
    messages, stderr, status = await asyncio.to_thread(send_rejected_requests)
    error = reply(messages, 3)["error"]
    assert error["code"] == -32600
    assert "after shutdown" in error["message"]
    assert status == 0
    assert reply(messages, 5)["error"]["code"] == -32602
    assert "uptimeSeconds" in reply(messages, 6)["result"]
    assert "request 5 rejected: invalid textDocument/inlineCompletion request" in stderr
    assert "Traceback" not in stderr
