"""Drop-in HTTP API for editor plugins: OpenAI, hosted FIM, llama.cpp and Ollama shapes."""

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
