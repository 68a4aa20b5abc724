"""ASGI tenant middleware: the same resolution for WebSockets (and ASGI HTTP).

Puts the tenant on `scope["tenant"]` and in the `current_tenant` ContextVar for
the life of the connection. A host that serves no tenant is closed before the
handshake is accepted.
"""

from __future__ import annotations

from channels.db import database_sync_to_async

from common.asgi_headers import scope_header
from common.asgi_responses import websocket_refuse
from common.errors import ApplicationError

from .context import current_tenant
from .resolution import tenant_resolve

# WebSocket close codes (documented in docs/realtime.md): 4400 bad request,
# 4401 unauthenticated, 4403 forbidden, 4404 no such tenant.
CLOSE_FOR_STATUS = {400: 4400, 401: 4401, 403: 4403, 404: 4404}


class TenantASGIMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        try:
            resolution = await database_sync_to_async(tenant_resolve)(
                host=scope_header(scope, b"host") or "",
                header_ref=scope_header(scope, b"x-tenant-id"),
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
