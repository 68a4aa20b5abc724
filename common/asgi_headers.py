"""Headers that say who and where come once (ASGI, in front of Django and the consumers).

Two `Host` headers are a 400 over HTTP (Django's host check), but a WebSocket upgrade took the
first one (tenants/asgi.py reads the first of each header) and was accepted; two `X-Tenant-ID`,
`Authorization` or `Origin` headers were likewise read differently by different readers (the
first, or all joined with commas). A request carrying one of these twice is refused here, the
same way for both protocols: `400 header_duplicated`, {"header": name}; a WebSocket upgrade
gets that HTTP response instead of the 101 (the ASGI `websocket.http.response` extension), or
close code 4400 from a server without it.
"""
from __future__ import annotations

import json

from .errors import error_body

SINGLE_VALUED = (b"host", b"x-tenant-id", b"authorization", b"origin")


def header_duplicated(scope) -> str | None:
    """The first of SINGLE_VALUED the request carries more than once."""
    seen = set()
    for name, _ in scope.get("headers", []):
        if name in SINGLE_VALUED:
            if name in seen:
                return name.decode()
            seen.add(name)
    return None


class SingleValuedHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        name = header_duplicated(scope) if scope["type"] in ("http", "websocket") else None
        if name is None:
            return await self.app(scope, receive, send)
        body = json.dumps(error_body("header_duplicated", f"The {name} header was sent more than once.",
                                     {"header": name})).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 400,
                        "headers": [*headers, (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
        elif "websocket.http.response" in scope.get("extensions", {}):
            await receive()  # websocket.connect
            await send({"type": "websocket.http.response.start", "status": 400, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            from tenants.asgi import websocket_refuse

            await websocket_refuse(receive, send, 4400, "header_duplicated")
