"""Protocol hooks: document sync goes to the server's own document store.

pygls keeps its own copy of every open document and re-splits the whole text
on every edit. These overrides route ``didOpen``, ``didChange`` and
``didClose`` to ``FimLanguageServer`` instead, whose documents also carry the
incremental tree-sitter tree, so each edit is applied once.

A request whose parameters do not decode (a negative position, a missing
field) gets an error response here: pygls 2.1 only logs it and shows a
message, which leaves the client waiting for a reply that never comes. So
does a request after ``shutdown``, which gets ``InvalidRequest`` as the
LSP specification requires, and one before ``initialize``, which gets
``ServerNotInitialized`` (a notification then is dropped). A body that is not
UTF-8 JSON gets a parse error, as do bytes that do not form a frame (see
``framing``). JSON that is not a JSON-RPC 2.0 object gets ``InvalidRequest``.
These replies carry a null id where none can be read, as JSON-RPC 2.0
prescribes. pygls 2.1 sends none of them.
"""

from __future__ import annotations

import json
import logging

import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger("fim_server.lsp.protocol")


# Returned by ``structure_message`` for a request that already got an error response.
_ANSWERED = object()


def _decode_error(method: str, exc: JsonRpcException) -> types.ResponseError:
    cause = exc.__cause__
    if isinstance(cause, cattrs.BaseValidationError):
        details = "; ".join(cattrs.transform_error(cause))
    else:
        details = str(cause or exc)
    return types.ResponseError(code=exc.code, message=f"invalid {method} request: {details}")


class _DropDecodeTraceback(logging.Filter):
    """Drop pygls's traceback for a message that does not decode; FimProtocol logs one line for it instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Unable to deserialize message")


logging.getLogger("pygls.protocol.json_rpc").addFilter(_DropDecodeTraceback())

# Errors of a message body that is not UTF-8 JSON, which get a parse error reply.
UNREADABLE = (json.JSONDecodeError, UnicodeDecodeError)


def _json_kind(value) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return "number"


def reply_id(value) -> int | str | None:
    """Return ``value`` when it can be a reply's id (a string or an integer), else None."""
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def envelope_problem(data: dict) -> str | None:
    """Return what makes a JSON-RPC message's envelope invalid (version, id or method), or None."""
    if data["jsonrpc"] != "2.0":
        return f'the message\'s "jsonrpc" member is {json.dumps(data["jsonrpc"])}, not "2.0"'
    msg_id = data.get("id")
    if msg_id is not None and reply_id(msg_id) is None:
        return f"the message's id {json.dumps(msg_id)} is not a string, an integer or null"
    if "method" in data and not isinstance(data["method"], str):
        return f"the message's method {json.dumps(data['method'])} is not a string"
    return None


class FimProtocol(LanguageServerProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._initialize_received = False

    def structure_message(self, data):
        # The frame reader (``framing.serve_frames``) calls this once per message, with the top-level
        # JSON object, so a "jsonrpc" member nested inside params is left alone.
        if isinstance(data, dict) and "jsonrpc" in data and (problem := envelope_problem(data)):
            log.warning("invalid message rejected: %s", problem)
            self._send_error(reply_id(data.get("id")), types.ErrorCodes.InvalidRequest, problem)
            return _ANSWERED
        if (isinstance(data, dict) and "method" in data and "params" not in data and "jsonrpc" in data
                and self.get_message_type(str(data["method"])) is None):
            # JSON-RPC allows leaving params out, but pygls's generic message types for methods that
            # lsprotocol does not define (such as fimServer/stats) require the member.
            data = {**data, "params": None}
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            method = str(data.get("method", "")) if isinstance(data, dict) else ""
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                log.warning("message %s ignored: %s", method or "without a method", _decode_error(method, exc).message)
                raise  # a notification or a response, which takes no reply
            error = _decode_error(method, exc)
            log.warning("request %r rejected: %s", data["id"], error.message)
            self._send_response(data["id"], error=error)
            return _ANSWERED

    def reply_unreadable(self, error: Exception) -> None:
        """Reply with a parse error and a null id to a message body that is not JSON or not UTF-8."""
        if isinstance(error, UnicodeDecodeError):
            detail = f"the message body is not valid UTF-8 ({error.reason} at byte {error.start})"
        else:
            detail = f"the message body is not valid JSON ({error})"
        self.reply_parse_error(detail)

    def reply_parse_error(self, detail: str) -> None:
        """Reply with a parse error and a null id, for bytes that do not form a usable message."""
        log.warning("invalid message rejected: %s", detail)
        self._send_error(None, types.ErrorCodes.ParseError, detail)

    def handle_message(self, message) -> None:
        if message is _ANSWERED:
            return
        if getattr(message, "jsonrpc", None) != self.VERSION:
            self._reject_unknown(message)
            return
        method = getattr(message, "method", None)
        if not self._initialize_received and method is not None and method != types.EXIT:
            if method != types.INITIALIZE:
                self._reject_before_initialize(message, method)
                return
            self._initialize_received = True
        if self._shutdown and method is not None and method != types.EXIT and hasattr(message, "id"):
            log.warning("request %r (%s) rejected: the server is shutting down", message.id, method)
            self._send_response(message.id, error=types.ResponseError(
                code=types.ErrorCodes.InvalidRequest,
                message=f"{method} after shutdown: the server is shutting down and serves no more requests"))
            return
        super().handle_message(message)

    def _reject_before_initialize(self, message, method: str) -> None:
        """Reply with ServerNotInitialized to a request before initialize, and drop a notification."""
        if not hasattr(message, "id"):
            log.warning("notification %s ignored: it came before the initialize request", method)
            return
        log.warning("request %r (%s) rejected: it came before the initialize request", message.id, method)
        self._send_error(message.id, types.ErrorCodes.ServerNotInitialized,
                         f"{method} before initialize: send the initialize request first")

    def _reject_unknown(self, message) -> None:
        """Reply with InvalidRequest to JSON that is not a JSON-RPC 2.0 message, under its id where it has one."""
        if isinstance(message, dict):
            msg_id = reply_id(message.get("id"))
            detail = 'the message has no "jsonrpc": "2.0" member'
        else:
            msg_id = None
            detail = f"the message is not a JSON object but a JSON {_json_kind(message)}"
        log.warning("invalid message rejected: %s", detail)
        self._send_error(msg_id, types.ErrorCodes.InvalidRequest, detail)

    def _send_error(self, msg_id: int | str | None, code: types.ErrorCodes, message: str) -> None:
        # Written as a plain object: lsprotocol's converter leaves out a null id, which JSON-RPC requires.
        self._send_data({"jsonrpc": self.VERSION, "id": msg_id, "error": {"code": int(code), "message": message}})

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        self._server.open_document(params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        self._server.change_document(params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        self._server.close_document(params)

    def _handle_cancel_notification(self, msg_id) -> None:
        # A cancel that arrives after the reply is routine, so it is not worth a warning.
        if msg_id not in self._request_futures:
            log.debug("cancel for request %r ignored: its response was already sent", msg_id)
            return
        super()._handle_cancel_notification(msg_id)


__all__ = ["FimProtocol"]
