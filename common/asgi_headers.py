"""Headers that say who and where come once (ASGI, in front of Django and the consumers).

Two `Host` headers are a 400 over HTTP (Django's host check), but a WebSocket upgrade took the
first one (the ASGI readers take the first of each header: scope_header) and was accepted; two `X-Tenant-ID`,
`Authorization` or `Origin` headers were likewise read differently by different readers (the
first, or all joined with commas). A request carrying one of these twice is refused here, the
same way for both protocols: `400 header_duplicated`, {"header": name}; a WebSocket upgrade
gets that HTTP response instead of the 101 (the ASGI `websocket.http.response` extension), or
close code 4400 from a server without it.
"""

from __future__ import annotations

from .asgi_responses import error_body_bytes, http_error_send, websocket_refuse

SINGLE_VALUED = (b"host", b"x-tenant-id", b"authorization", b"origin")


def scope_header(scope, name: bytes) -> str | None:
    """The value of header `name` (lower case) in an ASGI scope; None when absent.
    Of SINGLE_VALUED there is at most one (SingleValuedHeaders refused the rest)."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


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
        message, details = f"The {name} header was sent more than once.", {"header": name}
        if scope["type"] == "http":
            await http_error_send(send, 400, "header_duplicated", message, details)
        elif "websocket.http.response" in scope.get("extensions", {}):
            body, headers = error_body_bytes("header_duplicated", message, details)
            await receive()  # websocket.connect
            await send({"type": "websocket.http.response.start", "status": 400, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await websocket_refuse(receive, send, 4400, "header_duplicated")
