"""Django views of the realtime app (tenant hosts): the live page and the SSE endpoint."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.authentication import REQUEST_TOKEN_ATTR
from accounts.services import session_credential, token_credential
from common.asgi import at_request_end, database_connections_release
from common.errors import ApplicationError, application_error_response
from tenants.access import capability
from tenants.context import current_tenant, tenant_sync_to_async
from tenants.errors import TenantNotSpecified

from .engine import presence
from .engine.channel_names import Channel, control_group
from .engine.eventlog import is_event_id
from .engine.sse import EventStreamResponse, StreamConnection, event_stream
from .services import room_get_for_user


@login_required  # anonymous → /api-auth/login/?next=/live/; non-members were refused by the tenant middleware
def live_page(request):
    """The signed-in member's live event feed, over realtime/client.js."""
    return render(request, "realtime/live.html", {"tenant": request.tenant})


@capability("realtime")  # tenants.access: 403 feature_disabled when switched off (checked by the middleware)
async def events_stream(request):
    """`GET /api/events`: Server-Sent Events, the same events as the socket
    (the stream itself: realtime.engine.sse).

    Channels: the user's own and `tenant`, plus `?channels=room:1,room:2` (rooms
    the user may read). `Last-Event-ID` (header or `?last_event_id=`) replays what
    was missed. A stream counts against the user's MAX_CONNECTIONS_PER_USER in the
    tenant, together with their WebSockets (429 `too_many_connections` beyond it),
    holds no database connection while it waits, and ends when the tenant is
    suspended, the user loses access, or the token or session that opened it is
    revoked."""
    tenant = getattr(request, "tenant", None)
    try:
        if tenant is None:
            raise TenantNotSpecified()
        token = getattr(request, REQUEST_TOKEN_ATTR, None)
        user = token.user if token is not None else await request.auser()
        if not user.is_authenticated:
            raise ApplicationError(
                "Authentication credentials were not provided.", code="not_authenticated", status=401
            )
        current_tenant.set(tenant)
        channels = {f"user:{user.pk}", "tenant"}
        for name in filter(None, request.GET.get("channels", "").split(",")):
            channel = Channel.parse(name.strip())
            if channel is None or channel.kind != "room":
                raise ApplicationError("Only room:<id> channels can be added.", code="invalid_channel")
            await tenant_sync_to_async(room_get_for_user)(room_id=channel.ident, user=user)
            channels.add(channel.name)
        last_id = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or ""
        if last_id and not is_event_id(last_id):
            raise ApplicationError("Last-Event-ID is not an event id.", code="validation_error")
    except ApplicationError as exc:
        return application_error_response(exc)

    if token is not None:
        credential = token_credential(token.pk)
    else:
        credential = session_credential(getattr(request.session, "session_key", "") or "")
    conn = StreamConnection(str(tenant.pk), user.pk)
    limit = settings.REALTIME["MAX_CONNECTIONS_PER_USER"]  # shared with the user's WebSockets
    if not await sync_to_async(presence.connection_register, thread_sensitive=False)(
        conn.tenant_id, conn.user_id, conn.conn_id, limit
    ):
        return application_error_response(
            ApplicationError(
                "Too many live connections for this user.",
                code="too_many_connections",
                status=429,
                details={"limit": limit},
            )
        )
    # The slot goes back when the request is over, even if Django drops this response unsent
    # (the client left while the view ran: then neither the stream nor close() ever runs).
    at_request_end(request, conn.release)
    try:
        # The stream never touches the database again: give back the request's
        # connections (the middlewares' and the view's) now, not when it ends.
        await sync_to_async(database_connections_release)()
    except BaseException:  # the client left meanwhile (cancelled): the slot goes back at once
        await asyncio.shield(sync_to_async(conn.release, thread_sensitive=False)())
        raise
    controls = [control_group(tenant.pk), control_group(tenant.pk, user.pk), f"ctl.{credential}"]
    response = EventStreamResponse(conn, event_stream(conn, channels, controls, credential, last_id))
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
