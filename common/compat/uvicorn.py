"""uvicorn: the WebSocket connection behind an ASGI `send`, written to directly.

Uses `uvicorn.protocols.websockets.websockets_sansio_impl.WebSocketsSansIOProtocol` (what
`--ws websockets-sansio` serves): the ASGI `send` it gives the app is its bound method
`send`, and its instance attributes `transport` (the asyncio transport), `handshake_complete`,
`close_sent` and `disconnected` say whether frames may be written.

Why no public API: ASGI has no call that sends the same bytes to many connections; every
`send()` frames its message again. realtime.engine.hub builds an event's frame once and
realtime.engine.transport writes it to each socket's transport (a fan-out to 1,000 sockets is then
1,000 `transport.write`s, not 1,000 framings).

On upgrade: check that `run_asgi` still passes `self.send`; that the four attributes keep
their meaning (`transport` set in connection_made; `handshake_complete` once accepted, and
with `disconnected` on connection_lost; `close_sent` with our close frame); that the class
still exists under this module (else `websocket_protocol` finds nothing and every socket
falls back to plain ASGI sends: same frames, slower). tests/realtime run both paths.
"""

from __future__ import annotations

from . import Internal, Owned

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - uvicorn (with websockets) is a pinned dependency; the guard test says so
    WebSocketsSansIOProtocol = None

_SANSIO = "uvicorn.protocols.websockets.websockets_sansio_impl"

REQUIRES = (
    Internal(
        "uvicorn",
        _SANSIO,
        "WebSocketsSansIOProtocol.send",
        params=("message",),
        used_by=(f"{_SANSIO}:WebSocketsSansIOProtocol.run_asgi",),
    ),
    Internal(
        "uvicorn",
        _SANSIO,
        "WebSocketsSansIOProtocol",
        assigned=("transport", "handshake_complete", "close_sent", "disconnected"),
    ),
)
OWNS = Owned(
    names=frozenset({"WebSocketsSansIOProtocol", "handshake_complete", "close_sent"}), modules=("uvicorn.protocols",)
)


def websocket_protocol(send):
    """The uvicorn WebSocket protocol whose bound `send` this is, None for any other callable."""
    owner = getattr(send, "__self__", None)
    if WebSocketsSansIOProtocol is not None and isinstance(owner, WebSocketsSansIOProtocol):
        return owner
    return None


def frame_writer(protocol) -> RawWriter | None:
    """A writer to the protocol's transport once its handshake is complete, else None."""
    return RawWriter(protocol) if protocol.handshake_complete else None


class RawWriter:
    """Bytes to one connection's transport, while the connection is open and before our close frame."""

    __slots__ = ("protocol", "transport")

    def __init__(self, protocol) -> None:
        self.protocol = protocol
        self.transport = protocol.transport

    def write(self, frame: bytes) -> bool:
        protocol = self.protocol
        if protocol.close_sent or protocol.disconnected:
            return False
        self.transport.write(frame)
        return True

    def buffered(self) -> int:
        """Bytes written but not yet taken by the kernel (the peer is not reading)."""
        return self.transport.get_write_buffer_size()

    def abort(self) -> None:
        self.transport.abort()
