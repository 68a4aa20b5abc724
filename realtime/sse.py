"""Server-Sent Events: `GET /api/events` streams the same events as the socket.

`id:` and `event:` lines, a heartbeat comment every HEARTBEAT_SECONDS,
`Last-Event-ID` (header or `?last_event_id=`) replays what was missed, and the
stream stops its work (leaves its groups) as soon as the client goes away.
Channels: the user's own and `tenant`, plus `?channels=room:1,room:2`.
"""
from __future__ import annotations

import asyncio
import json

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import StreamingHttpResponse

from accounts.authentication import REQUEST_TOKEN_ATTR
from common.errors import ApplicationError, application_error_response
from tenants.context import current_tenant, tenant_sync_to_async
from tenants.errors import TenantNotSpecified

from .channels import Channel, control_group
from .eventlog import events_since, id_key, is_event_id
from .hub import Event, hub
from .services import room_get_for_user


QUEUE_MAX = 1_000  # events a stream may fall behind before it is ended


def sse_message(event_id: str, frame: str) -> str:
    name = json.loads(frame)["event"]
    return f"id: {event_id}\nevent: {name}\ndata: {frame}\n\n"


async def events_stream(request):
    tenant = getattr(request, "tenant", None)
    try:
        if tenant is None:
            raise TenantNotSpecified()
        token = getattr(request, REQUEST_TOKEN_ATTR, None)
        user = token.user if token is not None else await request.auser()
        if not user.is_authenticated:
            raise ApplicationError("Authentication credentials were not provided.",
                                   code="not_authenticated", status=401)
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

    controls = [control_group(tenant.pk), control_group(tenant.pk, user.pk)]
    response = StreamingHttpResponse(_stream(str(tenant.pk), channels, controls, last_id),
                                     content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


class StreamSubscriber:
    """Takes the hub's events for one stream. A stream that falls QUEUE_MAX
    events behind is ended; its client reconnects with Last-Event-ID."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()

    def push_one(self, event: Event) -> None:
        self.push([event])

    def push(self, events: list[Event]) -> None:
        for event in events:
            if self.queue.qsize() < QUEUE_MAX:
                self.queue.put_nowait(event)
            elif self.queue.qsize() == QUEUE_MAX:
                self.queue.put_nowait(None)


async def _forward_controls(layer, channel_name: str, subscriber: StreamSubscriber) -> None:
    """Access changes (member removed, tenant suspended) end the stream."""
    while True:
        message = await layer.receive(channel_name)
        if message["type"] == "rt.close":
            subscriber.queue.put_nowait(None)
            return


async def _stream(tenant_id: str, channels: set[str], controls: list[str], last_id: str):
    layer = get_channel_layer()
    channel_name = await layer.new_channel()
    for group in controls:
        await layer.group_add(group, channel_name)
    subscriber, events = StreamSubscriber(), hub()
    for channel in channels:
        await events.subscribe(tenant_id, channel, subscriber)
    watcher = asyncio.create_task(_forward_controls(layer, channel_name, subscriber))
    heartbeat = settings.REALTIME["HEARTBEAT_SECONDS"]
    last_key = None
    try:
        yield "retry: 3000\n: connected\n\n"
        if last_id:
            replay = await sync_to_async(events_since)(tenant_id, last_id, channels)
            if replay.reset:
                yield "event: reset\ndata: {\"type\":\"reset\"}\n\n"
            else:
                last_key = id_key(last_id)
                for event_id, frame in replay.frames:
                    last_key = id_key(event_id)
                    yield sse_message(event_id, frame)
        while True:
            try:
                event = await asyncio.wait_for(subscriber.queue.get(), heartbeat)
            except asyncio.TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if event is None:
                return
            if last_key is not None and event.key <= last_key:
                continue
            last_key = event.key
            yield sse_message(event.id, event.text)
    finally:
        watcher.cancel()
        for channel in channels:
            events.unsubscribe(tenant_id, channel, subscriber)
        for group in controls:
            await layer.group_discard(group, channel_name)
