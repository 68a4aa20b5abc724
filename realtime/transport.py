"""Writing an event's pre-built frame straight to a WebSocket's transport.

ASGI has no way to send the same bytes to many sockets: every `send()` goes
through the server's per-message framing. Under uvicorn's `websockets-sansio`
protocol (what `make run` serves) the ASGI `send` callable is a method of the
connection's protocol object, whose transport takes the frame bytes the hub
built once (realtime.hub). Anything else (another server, another protocol
implementation, a wrapped `send`) gets `None` here and the consumer falls back
to plain ASGI sends: same frames, slower.

Raw frames are complete, final, unmasked text frames with RSV1 clear, which a
peer must accept whether or not permessage-deflate was negotiated (RFC 7692
§6: a message may always be sent uncompressed). They are written only while
the connection is open and before our close frame, as the protocol would.
"""
from __future__ import annotations

from channels.sessions import InstanceSessionWrapper

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - uvicorn is a pinned dependency
    WebSocketsSansIOProtocol = None


class RawWriter:
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


def raw_writer(send) -> RawWriter | None:
    protocol = _server_protocol(send)
    if protocol is not None and protocol.handshake_complete:
        return RawWriter(protocol)
    return None


def _server_protocol(send):
    """The uvicorn protocol behind `send`, seen through Channels' session
    middleware (its wrapper only acts on `http.response.start`)."""
    for _ in range(4):
        owner = getattr(send, "__self__", None)
        if WebSocketsSansIOProtocol is not None and isinstance(owner, WebSocketsSansIOProtocol):
            return owner
        if type(owner) is not InstanceSessionWrapper:
            return None
        send = owner.real_send
    return None
