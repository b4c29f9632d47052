"""One resident model for many editors: the daemon, its wire protocol and the client side.

``RemoteEngine`` is a drop-in for ``DiffusionEngine`` in ``CompletionPipeline``;
it finds the daemon's socket, starts ``fim-server serve`` when none is running,
and restarts it once if it dies during a fill.
"""

from .client import DaemonClient, DaemonConnectionLost, DaemonError
from .locations import LocationError, default_socket_path
from .remote import RemoteEngine, spawn_args_from_settings

__all__ = [
    "DaemonClient",
    "DaemonConnectionLost",
    "DaemonError",
    "LocationError",
    "RemoteEngine",
    "default_socket_path",
    "spawn_args_from_settings",
]
