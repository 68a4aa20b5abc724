"""Answers given at the ASGI door, before Django or a consumer runs: the JSON error
shape over HTTP (and over a WebSocket upgrade that allows an HTTP answer), and a
refused WebSocket with our close code.
"""

from __future__ import annotations

import json

from .errors import error_body


def error_body_bytes(code: str, message: str, details: dict | None = None) -> tuple[bytes, list]:
    """The JSON error shape, encoded, and the headers that describe it."""
    body = json.dumps(error_body(code, message, details or {})).encode()
    return body, [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]


async def http_error_send(send, status: int, code: str, message: str, details: dict | None = None) -> None:
    """An HTTP error answered in the JSON shape; the connection is closed after it
    (the request's body, if any, is left unread)."""
    body, headers = error_body_bytes(code, message, details)
    await send({"type": "http.response.start", "status": status, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


async def websocket_refuse(receive, send, code: int, reason: str) -> None:
    """Accept, then close with our code: a close before accept reaches the
    client only as a bare HTTP 403, and the code (and reason) would be lost."""
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code, "reason": reason})
