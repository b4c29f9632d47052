"""Drop-in HTTP API for editor plugins: OpenAI, hosted FIM, llama.cpp and Ollama shapes.

Besides its API's own fields, every completion endpoint reads ``effort``,
``comments`` and ``strings``. The last two set what a cursor inside a comment
or a string gets: "complete", "line" (the default) or "none". Ollama also
reads these fields from ``options``.

Request bodies must be ``application/json`` (415 otherwise), and a server on a
loopback address accepts only the Host names 127.0.0.1, localhost and [::1]
(403 otherwise), so that web pages cannot drive it from the user's browser.
"""

from .app import EmbeddedServer, allowed_hosts_for, bind_socket, check_bind_host, create_app, make_server
from .common import HttpOptions
from .service import CompletionService, FimCall, TokenCounter

__all__ = [
    "CompletionService",
    "EmbeddedServer",
    "FimCall",
    "HttpOptions",
    "TokenCounter",
    "allowed_hosts_for",
    "bind_socket",
    "check_bind_host",
    "create_app",
    "make_server",
]
