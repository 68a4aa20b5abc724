"""Who may open a WebSocket on a tenant host: the rules of `/ws/`, for every socket endpoint.

`SocketAdmission` is mixed into a Channels consumer (RealtimeConsumer, and the sockets of the apps
above, e.g. documents'): `await self.admit()` in `connect()` checks, in this order, the tenant
(4400), the Origin (4403), the ticket or session (4401), membership, suspension and the
`features.realtime` flag (4403, tenants.resolution.tenant_admit), and takes one of the user's
connection slots (4429). A refused socket is accepted then closed with the code and reason.
An admitted one is in its tenant's, its user's and its credential's control groups, so access
ending (realtime/subscribers.py) closes it like any `/ws/` socket (`rt_close`), and its slot
lives as long as the housekeeper's heartbeat refreshes `presence_entry()`.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings

from accounts.services import session_credential
from common.asgi_headers import scope_header
from common.errors import ApplicationError
from tenants.context import tenant_sync_to_async
from tenants.resolution import tenant_admit
from tenants.settings_schema import settings_effective

from .engine import presence
from .engine.channel_names import control_group
from .engine.frames import CLOSE_BAD_FRAME, CLOSE_FORBIDDEN, CLOSE_RATE_LIMITED, CLOSE_UNAUTHENTICATED
from .services import ticket_credential, ticket_grant_user, ticket_redeem

in_thread = sync_to_async  # for Redis calls (thread_sensitive: serialised per consumer)


class SocketAdmission:
    """Sets tenant, tenant_id, conn_id, user, credential, role, registered, groups_joined."""

    async def admit(self, conn_id: str) -> bool:
        """True once admitted; False after refusing (the socket is then closed)."""
        self.tenant = self.scope.get("tenant")
        self.conn_id = conn_id
        self.registered = False
        self.groups_joined: set[str] = set()
        if self.tenant is None:
            await self._refuse(CLOSE_BAD_FRAME, "tenant_not_specified")
            return False
        self.tenant_id = str(self.tenant.pk)
        if not self._origin_allowed():
            await self._refuse(CLOSE_FORBIDDEN, "origin_not_allowed")
            return False
        self.user, self.credential = await self._authenticate()
        if self.user is None:
            await self._refuse(CLOSE_UNAUTHENTICATED, "not_authenticated")
            return False
        try:
            self.role = await tenant_sync_to_async(tenant_admit)(self.tenant, self.user, capability="realtime")
        except ApplicationError as exc:
            await self._refuse(CLOSE_FORBIDDEN, exc.code)
            return False
        limit = settings.REALTIME["MAX_CONNECTIONS_PER_USER"]
        if not await in_thread(presence.connection_register)(self.tenant_id, self.user.pk, self.conn_id, limit):
            await self._refuse(CLOSE_RATE_LIMITED, "too_many_connections")
            return False
        self.registered = True
        for group in (control_group(self.tenant_id), control_group(self.tenant_id, self.user.pk)):
            await self._group_add(group)  # (the credential's group was joined by _authenticate)
        return True

    def _origin_allowed(self) -> bool:
        """Browsers send Origin: it must be this host or one of the tenant's
        frontend_origins. Clients that send none (servers, scripts) pass."""
        origin = scope_header(self.scope, b"origin")
        if not origin:
            return True
        parts = urlsplit(origin)
        if parts.netloc.lower() == (scope_header(self.scope, b"host") or "").lower():
            return True
        allowed = settings_effective(self.tenant.settings)["frontend_origins"]
        return f"{parts.scheme}://{parts.netloc}".lower() in allowed

    async def _authenticate(self):
        """(user, credential) from a one-time ticket or the session cookie.

        The credential's control group is joined *before* the ticket's
        credential is checked: a revocation either happened before the check
        (refused, 4401) or reaches this connection through the group."""
        query = parse_qs(self.scope.get("query_string", b"").decode())
        ticket = (query.get("ticket") or [""])[0]
        if ticket:
            grant = await in_thread(ticket_redeem)(tenant_id=self.tenant_id, ticket=ticket)
            if grant is None:
                return None, None
            credential = ticket_credential(grant)
            await self._group_add(f"ctl.{credential}")
            user = await tenant_sync_to_async(ticket_grant_user)(grant)
            return (user, credential) if user is not None else (None, None)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None, None
        session_key = getattr(self.scope.get("session"), "session_key", "") or ""
        credential = session_credential(session_key)
        await self._group_add(f"ctl.{credential}")
        return user, credential

    async def _refuse(self, code: int, reason: str):
        """Accept then close, so the client sees our close code and reason
        (a close before accept reaches it only as a bare HTTP 403)."""
        await self.accept()
        await self.close(code=code, reason=reason)

    async def _group_add(self, group: str):
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.add(group)

    async def rt_close(self, message):
        """A control group's `rt.close` (realtime.engine.control): access ended."""
        await self.close(code=message.get("code", CLOSE_FORBIDDEN), reason=message.get("reason", ""))

    def admission_release_steps(self) -> list:
        """Coroutines that give back the slot and the groups (the caller awaits each on its own)."""
        steps = []
        if self.registered:
            steps.append(in_thread(presence.connection_unregister)(self.tenant_id, self.user.pk, self.conn_id))
        steps += [self.channel_layer.group_discard(group, self.channel_name) for group in self.groups_joined]
        return steps
