"""Drop-in HTTP API for editor plugins: OpenAI, hosted FIM, llama.cpp and Ollama shapes.

Besides its API's own fields, every completion endpoint reads ``effort``,
``comments`` and ``strings``. The last two set what a cursor inside a comment
or a string gets: "complete", "line" (the default) or "none". Ollama also
reads these fields from ``options``.
"""

from .app import EmbeddedServer, bind_socket, check_bind_host, create_app, make_server
from .common import HttpOptions
from .service import CompletionService, FimCall, TokenCounter

__all__ = [
    "CompletionService",
    "EmbeddedServer",
    "FimCall",
    "HttpOptions",
    "TokenCounter",
    "bind_socket",
    "check_bind_host",
    "create_app",
    "make_server",
]
