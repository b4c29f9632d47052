"""Protocol hooks: document sync goes to the server's own document store.

pygls keeps its own copy of every open document and re-splits the whole text
on every edit. These overrides route ``didOpen``, ``didChange`` and
``didClose`` to ``FimLanguageServer`` instead, whose documents also carry the
incremental tree-sitter tree, so each edit is applied once.
"""

from __future__ import annotations

import logging

from lsprotocol import types
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger("fim_server.lsp.protocol")


class FimProtocol(LanguageServerProtocol):
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
