"""Writing an event's pre-built frame straight to a WebSocket's transport.

ASGI has no way to send the same bytes to many sockets: every `send()` goes
through the server's per-message framing. Under uvicorn's `websockets-sansio`
protocol (what `make run` serves) the ASGI `send` callable is a method of the
connection's protocol object, whose transport takes the frame bytes the hub
built once (realtime.engine.hub). Anything else (another server, another protocol
implementation, a wrapped `send`) gets `None` here and the consumer falls back
to plain ASGI sends: same frames, slower. What this reads of uvicorn and
Channels is in common/compat/uvicorn.py and common/compat/channels.py.

Raw frames are complete, final, unmasked text frames with RSV1 clear, which a
peer must accept whether or not permessage-deflate was negotiated (RFC 7692
§6: a message may always be sent uncompressed). They are written only while
the connection is open and before our close frame, as the protocol would.
"""

from __future__ import annotations

from common.compat.channels import session_inner_send
from common.compat.uvicorn import RawWriter, frame_writer, websocket_protocol

__all__ = ["RawWriter", "raw_writer"]


def raw_writer(send) -> RawWriter | None:
    protocol = _server_protocol(send)
    return frame_writer(protocol) if protocol is not None else None


def _server_protocol(send):
    """The uvicorn protocol behind `send`, seen through Channels' session
    middleware (its wrapper only acts on `http.response.start`)."""
    for _ in range(4):
        protocol = websocket_protocol(send)
        if protocol is not None:
            return protocol
        send = session_inner_send(send)
        if send is None:
            return None
    return None
