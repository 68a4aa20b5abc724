"""The WebSocket endpoint of a tenant host: `/ws/`.

Foundation scope: tenant resolution (TenantASGIMiddleware), authentication by
session cookie, membership, and `ping` → `pong`. The full protocol
(subscriptions, rooms, replay) is the realtime issue's.
"""
from __future__ import annotations

import json

from channels.generic.websocket import AsyncWebsocketConsumer

from tenants.context import tenant_sync_to_async
from tenants.resolution import tenant_admit

from common.errors import ApplicationError

CLOSE_BAD_FRAME = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class TenantSocketConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        tenant = self.scope.get("tenant")
        user = self.scope.get("user")
        if tenant is None:
            return await self._refuse(CLOSE_BAD_FRAME, "tenant_not_specified")
        if user is None or not user.is_authenticated:
            return await self._refuse(CLOSE_UNAUTHENTICATED, "not_authenticated")
        try:
            self.role = await tenant_sync_to_async(tenant_admit)(tenant, user)
        except ApplicationError as exc:
            return await self._refuse(CLOSE_FORBIDDEN, exc.code)
        await self.accept()

    async def _refuse(self, code: int, reason: str):
        """Accept then close, so the client sees our close code and reason
        (a close before accept reaches it only as a bare HTTP 403)."""
        await self.accept()
        await self.close(code=code, reason=reason)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = json.loads(text_data or "")
            kind = frame["type"]
        except (ValueError, TypeError, KeyError):
            return await self._error("bad_frame", "Frames are JSON objects with a type.")
        if kind == "ping":
            return await self.send(json.dumps({"type": "pong"}))
        if kind == "whoami":
            return await self.send(json.dumps(await self._whoami()))
        return await self._error("unknown_frame_type", f"Unknown frame type {kind!r}.")

    @tenant_sync_to_async
    def _whoami(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            schema = cursor.fetchone()[0]
        tenant = self.scope["tenant"]
        return {"type": "whoami", "tenant": tenant.slug, "schema": schema,
                "user": self.scope["user"].pk, "role": self.role}

    async def _error(self, code: str, message: str):
        await self.send(json.dumps({"type": "error", "code": code, "message": message}))
