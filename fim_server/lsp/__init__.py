"""Inline-completion language server (``fim-server lsp``).

Modules: ``launch`` (stdio/TCP start, logging), ``server`` (state, document
sync, settings, model), ``handlers`` (LSP features), ``completion`` (gating,
cache, debounce, model call), ``scheduler`` (latest wins per document),
``cache``, ``debounce``, ``settings``, ``documents``, ``items`` (LSP results),
``scope`` (comments and strings), ``engines`` (pipeline loading, test engine),
``stats``.
"""

from .launch import build_server, run

__all__ = ["build_server", "run"]
