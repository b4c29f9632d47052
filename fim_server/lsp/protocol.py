"""Protocol hooks: document sync goes to the server's own document store.

pygls keeps its own copy of every open document and re-splits the whole text
on every edit. These overrides route ``didOpen``, ``didChange`` and
``didClose`` to ``FimLanguageServer`` instead, whose documents also carry the
incremental tree-sitter tree, so each edit is applied once.

A request whose parameters do not decode (a negative position, a missing
field) gets an error response here: pygls 2.1 only logs it and shows a
message, which leaves the client waiting for a reply that never comes. So
does a request after ``shutdown``, which gets ``InvalidRequest`` as the
LSP specification requires.
"""

from __future__ import annotations

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


class FimProtocol(LanguageServerProtocol):
    def structure_message(self, data):
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

    def handle_message(self, message) -> None:
        if message is _ANSWERED:
            return
        method = getattr(message, "method", None)
        if self._shutdown and method is not None and method != types.EXIT and hasattr(message, "id"):
            log.warning("request %r (%s) rejected: the server is shutting down", message.id, method)
            self._send_response(message.id, error=types.ResponseError(
                code=types.ErrorCodes.InvalidRequest,
                message=f"{method} after shutdown: the server is shutting down and serves no more requests"))
            return
        super().handle_message(message)

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
