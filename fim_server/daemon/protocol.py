"""Wire format between editors and the model daemon.

Every message is a 4-byte big-endian length followed by that many bytes of
MessagePack (msgspec), encoding one of the tagged structs below (the ``type``
field names it). Requests carry a client-chosen integer ``id``; each request
gets exactly one reply with the same id, and replies may arrive in any order.

Client to daemon: ``fill``, ``cancel``, ``ping``, ``shutdown``.
Daemon to client: ``filled``, ``error``, ``pong``, ``ack``.
"""

from __future__ import annotations

import struct

import msgspec

from ..engine.types import FillResult

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
HEADER = struct.Struct(">I")

# Error codes carried by ErrorReply.code.
INVALID_REQUEST = "invalid_request"
CANCELLED = "cancelled"
DEADLINE_EXCEEDED = "deadline_exceeded"
OVERLOADED = "overloaded"
INTERNAL_ERROR = "internal_error"


class FillMessage(msgspec.Struct, tag="fill", kw_only=True):
    id: int
    prefix: str
    suffix: str
    canvas_tokens: int
    effort: str = "low"
    timeout_ms: float | None = None  # time budget from the moment the daemon reads the message
    budget_ms: float | None = None  # denoising time budget of this request, as in FillControl.budget_ms


class CancelMessage(msgspec.Struct, tag="cancel", kw_only=True):
    id: int
    target: int  # id of the fill to stop


class PingMessage(msgspec.Struct, tag="ping", kw_only=True):
    id: int


class ShutdownMessage(msgspec.Struct, tag="shutdown", kw_only=True):
    id: int


class FilledReply(msgspec.Struct, tag="filled", kw_only=True):
    id: int
    result: FillResult


class ErrorReply(msgspec.Struct, tag="error", kw_only=True):
    id: int
    code: str
    message: str


class PongReply(msgspec.Struct, tag="pong", kw_only=True):
    id: int
    protocol: int
    pid: int
    engine: str
    model: str | None
    uptime_s: float
    inflight: int
    stats: dict[str, float]
    # The dtype and torch thread count the model was loaded with; None for the scripted engine
    # and for daemons that predate these fields.
    dtype: str | None = None
    threads: int | None = None


class AckReply(msgspec.Struct, tag="ack", kw_only=True):
    id: int


ClientMessage = FillMessage | CancelMessage | PingMessage | ShutdownMessage
DaemonMessage = FilledReply | ErrorReply | PongReply | AckReply

_encoder = msgspec.msgpack.Encoder()
client_decoder = msgspec.msgpack.Decoder(ClientMessage)
daemon_decoder = msgspec.msgpack.Decoder(DaemonMessage)


class ProtocolError(ValueError):
    """A frame is too large or its payload is not a valid message."""


def encode_frame(message: msgspec.Struct) -> bytes:
    payload = _encoder.encode(message)
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {len(payload)} bytes exceeds the limit of {MAX_MESSAGE_BYTES} bytes")
    return HEADER.pack(len(payload)) + payload


def frame_length(header: bytes) -> int:
    """Payload length from a 4-byte header; raises ProtocolError when it is over the limit."""
    (length,) = HEADER.unpack(header)
    if length > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"incoming message of {length} bytes exceeds the limit of {MAX_MESSAGE_BYTES} bytes")
    return length


__all__ = [
    "AckReply",
    "CancelMessage",
    "ErrorReply",
    "FillMessage",
    "FilledReply",
    "PingMessage",
    "PongReply",
    "ProtocolError",
    "ShutdownMessage",
    "encode_frame",
    "frame_length",
]
