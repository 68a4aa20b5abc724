"""ASGI tenant middleware: the same resolution for WebSockets (and ASGI HTTP).

Puts the tenant on `scope["tenant"]` and in the `current_tenant` ContextVar for
the life of the connection. A host that serves no tenant is closed before the
handshake is accepted.
"""
from __future__ import annotations

from channels.db import database_sync_to_async

from common.errors import ApplicationError

from .context import current_tenant
from .resolution import tenant_resolve

# WebSocket close codes (documented in the README): 4400 bad request,
# 4401 unauthenticated, 4403 forbidden, 4404 no such tenant.
CLOSE_FOR_STATUS = {400: 4400, 401: 4401, 403: 4403, 404: 4404}


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


async def websocket_refuse(receive, send, code: int, reason: str) -> None:
    """Accept, then close with our code: a close before accept reaches the
    client only as a bare HTTP 403, and the code (and reason) would be lost."""
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code, "reason": reason})


class TenantASGIMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        try:
            resolution = await database_sync_to_async(tenant_resolve)(
                host=_header(scope, b"host") or "",
                header_ref=_header(scope, b"x-tenant-id"),
            )
        except ApplicationError as exc:
            await websocket_refuse(receive, send, CLOSE_FOR_STATUS.get(exc.status, 4400), exc.code)
            return
        scope = dict(scope, tenant=resolution.tenant, tenant_source=resolution.source)
        token = current_tenant.set(resolution.tenant)
        try:
            return await self.inner(scope, receive, send)
        finally:
            current_tenant.reset(token)
