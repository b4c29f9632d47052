"""Inline-completion language server (``fim-server lsp``).

Modules:

- ``launch``: stdio or TCP start and logging;
- ``server``: state, document sync, settings and the model;
- ``handlers``: the LSP features;
- ``completion``: gating, cache, debounce and the model call;
- ``scheduler``: latest wins per document;
- ``cache``, ``debounce``, ``settings``, ``documents``, ``stats``;
- ``items``: suggestions as LSP results;
- ``scope``: comments and strings at the cursor;
- ``engines``: pipeline loading and the scripted test engine.
"""

from .launch import build_server, run

__all__ = ["build_server", "run"]
