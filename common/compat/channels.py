"""Channels: a consumer's raw ASGI `send`, and the send behind its session middleware.

Uses `AsyncConsumer.base_send` (the server's `send`, set in `__call__`) and
`channels.sessions.InstanceSessionWrapper.real_send` (the `send` it wraps; its bound `send`
is what the consumer gets under AuthMiddlewareStack).

Why no public API: a consumer only has `send(message)`, which goes through the wrapper and
the server's framing. realtime.engine.transport looks for the server connection behind that send
(common.compat.uvicorn) to write pre-built frames to it. Bypassing the wrapper is safe
because it acts only on `http.response.start` (`save_message_types`,
`cookie_response_message_types`); a WebSocket's frames pass it unchanged.

On upgrade: check that `base_send` and `real_send` keep those names and meanings, and that
the wrapper still touches nothing but `http.response.start` (else bypassing it would skip
what it does). If they go, sockets fall back to plain ASGI sends (slower, not broken).
"""

from __future__ import annotations

from channels.sessions import InstanceSessionWrapper

from . import Internal, Owned

REQUIRES = (
    Internal(
        "channels",
        "channels.consumer",
        "AsyncConsumer",
        assigned=("base_send",),
        used_by=("channels.consumer:AsyncConsumer.send",),
    ),
    Internal("channels", "channels.sessions", "InstanceSessionWrapper.send", params=("message",)),
    Internal(
        "channels",
        "channels.sessions",
        "InstanceSessionWrapper",
        assigned=("real_send",),
        used_by=("channels.sessions:InstanceSessionWrapper.send",),
    ),
    Internal("channels", "channels.sessions", "InstanceSessionWrapper.save_message_types"),
    Internal("channels", "channels.sessions", "InstanceSessionWrapper.cookie_response_message_types"),
)
OWNS = Owned(names=frozenset({"base_send", "real_send", "InstanceSessionWrapper"}), modules=("channels.sessions",))


def consumer_asgi_send(consumer):
    """The ASGI `send` the consumer was called with (what its `send()` ends in)."""
    return consumer.base_send


def session_inner_send(send):
    """The `send` Channels' session wrapper wraps, if `send` is that wrapper's; else None."""
    owner = getattr(send, "__self__", None)
    if type(owner) is InstanceSessionWrapper:
        return owner.real_send
    return None
