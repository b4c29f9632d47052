"""Headless JSON-lines mode: one request per line on stdin, one response per line on stdout.

Request:  ``{"id": 1, "text": "...", "line": 3, "character": 8, "language": "python"}``
          (any field of ``CompletionRequest``; ``id`` is a string or an integer).
Cancel:   ``{"id": 2, "cancel": 1}`` stops request 1 within one denoising step (no other fields).
Response: ``{"id": 1, "result": {...CompletionResult...}}`` or
          ``{"id": 1, "error": {"code": "invalid_request", "message": "..."}}``.
Requests run concurrently and responses may arrive in any order; match them by id.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import sys
import threading

import msgspec

from ..context.mode import POLICIES
from ..engine.types import EFFORTS, confidence_floor_problem
from ..pipeline import MODES, CompletionPipeline, CompletionRequest, FillCancelled, RequestError
from ..quoting import json_value

log = logging.getLogger("fim_server.stdio")

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
MAX_LINE_BYTES = 32 * 1024 * 1024

# Fields with a fixed set of values: a schema error for one of them also lists the values.
FIELD_CHOICES = {"mode": MODES, "comments": POLICIES, "strings": POLICIES, "effort": EFFORTS}


_TYPE_NAMES = {"int": "an integer", "str": "a string", "float": "a number", "bool": "true or false", "null": "null"}
_WRONG_TYPE = re.compile(r"Expected `(?P<types>[^`]+)`, got `[^`]+` - at `\$\.(?P<field>\w+)`")
_BAD_ENUM = re.compile(r"Invalid enum value .* - at `\$\.(?P<field>\w+)`")
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")


def schema_message(error: msgspec.ValidationError, request: dict) -> str:
    """Return the schema error for ``request`` in the words of the other request errors, with what to send instead.

    Messages that none of the known msgspec forms match are returned unchanged.
    """
    text = str(error)
    if match := _WRONG_TYPE.fullmatch(text):
        field = match["field"]
        kinds = " or ".join(_TYPE_NAMES.get(name, name) for name in match["types"].split(" | "))
        return f"invalid {field} {json_value(request.get(field))}: use {kinds}"
    if match := _BAD_ENUM.fullmatch(text):
        field = match["field"]
        choices = ", ".join(json_value(choice) for choice in FIELD_CHOICES.get(field, ()))
        return f"invalid {field} {json_value(request.get(field))}: use one of {choices}"
    if match := _UNKNOWN_FIELD.fullmatch(text):
        names = ", ".join(field.name for field in msgspec.structs.fields(CompletionRequest))
        return f"unknown field {json_value(match['field'])}: the request fields are id, {names}"
    return text


def error(id_, code: str, message: str) -> dict:
    return {"id": id_, "error": {"code": code, "message": message}}


class StdioServer:
    def __init__(self, pipeline: CompletionPipeline, write) -> None:
        self.pipeline = pipeline
        self.write = write  # callable taking one encoded line (bytes, newline included)
        self.inflight: dict[object, threading.Event] = {}
        self.tasks: set[asyncio.Task] = set()

    def send(self, message: dict) -> None:
        self.write(_encoder.encode(message) + b"\n")

    def handle_line(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            message = _decoder.decode(line)
        except msgspec.DecodeError as exc:
            self.send(error(None, "parse_error", f"line is not valid JSON: {exc}"))
            return
        if not isinstance(message, dict):
            self.send(error(None, "invalid_request", "each line must be a JSON object"))
            return
        id_ = message.pop("id", None)
        if not isinstance(id_, (int, str)) or isinstance(id_, bool):
            self.send(error(None, "invalid_request", f"missing or invalid id {json_value(id_)}: use a string or an integer"))
            return
        if "cancel" in message:
            target = message["cancel"]
            others = sorted(name for name in message if name != "cancel")
            if others:
                # Such a line could be a request as well as a cancel, so it is neither.
                self.send(error(id_, "invalid_request", "a cancel takes only the fields id and cancel: drop "
                                + ", ".join(others)))
                return
            if not isinstance(target, (int, str)) or isinstance(target, bool):
                self.send(error(id_, "invalid_request",
                                f"invalid cancel {json_value(target)}: give the id (a string or an integer) of a request"))
                return
            event = self.inflight.get(target)
            if event is not None:
                event.set()
            self.send({"id": id_, "result": {"cancelled": target, "found": event is not None}})
            return
        if id_ in self.inflight:
            # Reply with a null id, so that the request in flight keeps its single reply.
            self.send(error(None, "invalid_request", f"id {json_value(id_)} is already in flight; use a new id"))
            return
        floor = message.get("min_confidence")
        problem = None if floor is None else confidence_floor_problem(floor)
        if problem:  # checked before the schema, so that a wrong type also gets the valid range
            self.send(error(id_, "invalid_request", f"invalid min_confidence {json_value(floor)}: {problem}"))
            return
        try:
            request = msgspec.convert(message, CompletionRequest)
        except msgspec.ValidationError as exc:
            self.send(error(id_, "invalid_request", schema_message(exc, message)))
            return
        event = threading.Event()
        self.inflight[id_] = event
        task = asyncio.get_running_loop().create_task(self.run(id_, request, event))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self, id_, request: CompletionRequest, event: threading.Event) -> None:
        try:
            result = await self.pipeline.complete_async(request, event)
            self.send({"id": id_, "result": msgspec.to_builtins(result)})
        except RequestError as exc:
            self.send(error(id_, "invalid_request", str(exc)))
        except FillCancelled:
            self.send(error(id_, "cancelled", f"request {json_value(id_)} was cancelled"))
        except Exception as exc:  # reply and keep serving whatever the model raises
            log.exception("request %r failed", id_)
            self.send(error(id_, "internal_error", f"{type(exc).__name__}: {exc}"))
        finally:
            self.inflight.pop(id_, None)


async def _skip_line(reader: asyncio.StreamReader) -> bool:
    """Drop the bytes of the current line up to and including its newline; return False at the end of input.

    ``readuntil`` leaves an over-long line in the buffer, so it is dropped in
    pieces of at most the buffer limit, and the next line stays intact.
    """
    while True:
        try:
            await reader.readuntil(b"\n")
            return True
        except asyncio.LimitOverrunError as exc:
            await reader.readexactly(exc.consumed)
        except asyncio.IncompleteReadError:
            return False


_TOO_LONG = object()  # stands for a line over MAX_LINE_BYTES, which is skipped


async def _pipe_lines(stdin):
    """Yield the lines of a pipe, socket or terminal, read by the event loop without a thread."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE_BYTES, loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), stdin)
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            line = exc.partial  # the last line has no newline, or stdin is at its end (b"")
        except asyncio.LimitOverrunError:
            yield _TOO_LONG
            if await _skip_line(reader):
                continue
            return
        if not line:
            return
        yield line


async def _file_lines(stdin):
    """Yield the lines of a regular file (``fim-server stdio < requests.jsonl``), read one at a time in a thread."""
    limit = MAX_LINE_BYTES
    while True:
        line = await asyncio.to_thread(stdin.readline, limit + 1)
        if not line:
            return
        if len(line) > limit:
            yield _TOO_LONG
            while line and not line.endswith(b"\n"):  # drop the rest of the over-long line
                line = await asyncio.to_thread(stdin.readline, limit)
            continue
        yield line


def _is_regular_file(stream) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False


async def serve(pipeline: CompletionPipeline, stdin=None, stdout=None) -> None:
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer

    def write(data: bytes) -> None:
        stdout.write(data)
        stdout.flush()

    server = StdioServer(pipeline, write)
    # The event loop cannot watch a regular file, so a redirected file is read in a thread.
    lines = _file_lines(stdin) if _is_regular_file(stdin) else _pipe_lines(stdin)
    async for line in lines:
        if line is _TOO_LONG:
            server.send(error(None, "invalid_request", f"line longer than {MAX_LINE_BYTES} bytes"))
            continue
        server.handle_line(line)
    if server.tasks:
        await asyncio.gather(*server.tasks, return_exceptions=True)
