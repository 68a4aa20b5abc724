"""Server-Sent Events: the stream behind `GET /api/events` (realtime.views.events_stream),
carrying the same events as the socket.

`id:` and `event:` lines, a heartbeat comment every HEARTBEAT_SECONDS,
`Last-Event-ID` replays what was missed, and the stream stops its work (leaves
its groups) as soon as the client goes away. A stream holds a connection slot
(presence.connection_register, shared with the user's WebSockets) that goes
back when it ends, holds no database connection while it waits, and ends when
a control message closes it (tenant suspended, access lost, credential revoked).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import StreamingHttpResponse

from . import presence
from .control import credential_revoked
from .eventlog import events_since, id_key
from .housekeeping import housekeeper
from .hub import Event, hub

logger = logging.getLogger(__name__)


QUEUE_MAX = 1_000  # events a stream may fall behind before it is ended


def sse_message(event_id: str, frame: str) -> str:
    name = json.loads(frame)["event"]
    return f"id: {event_id}\nevent: {name}\ndata: {frame}\n\n"


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


async def event_stream(conn: StreamConnection, channels: set[str], controls: list[str], credential: str, last_id: str):
    """The body of the response: `channels` from the hub, after a replay from `last_id` (if any),
    until the client leaves or a message on one of the `controls` groups closes it."""
    tenant_id = conn.tenant_id
    layer = get_channel_layer()
    subscriber, events = StreamSubscriber(), hub()
    channel_name, watcher, joined = None, None, []
    heartbeat = settings.REALTIME["HEARTBEAT_SECONDS"]
    last_key = None
    try:
        housekeeper().watch(conn)  # refreshes the slot while the stream lives
        channel_name = await layer.new_channel()
        for group in controls:
            await layer.group_add(group, channel_name)
            joined.append(group)
        # Revoked after the request was authenticated, before the group was joined?
        # (connections_close_for_credential remembers it before it sends the close.)
        if await sync_to_async(credential_revoked, thread_sensitive=False)(credential):
            return
        for channel in channels:
            await events.subscribe(tenant_id, channel, subscriber)
        watcher = asyncio.create_task(_forward_controls(layer, channel_name, subscriber))
        if _client_gone():
            return
        yield "retry: 3000\n: connected\n\n"
        if last_id:
            replay = await sync_to_async(events_since)(tenant_id, last_id, channels)
            if replay.reset:
                yield 'event: reset\ndata: {"type":"reset"}\n\n'
            else:
                last_key = id_key(last_id)
                for event_id, frame in replay.frames:
                    last_key = id_key(event_id)
                    yield sse_message(event_id, frame)
        while not _client_gone():
            try:
                event = await asyncio.wait_for(subscriber.queue.get(), heartbeat)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if event is None:
                return
            if last_key is not None and event.key <= last_key:
                continue
            last_key = event.key
            yield sse_message(event.id, event.text)
    finally:
        if watcher is not None:
            watcher.cancel()
        housekeeper().unwatch(conn)
        for channel in channels:
            events.unsubscribe(tenant_id, channel, subscriber)
        await asyncio.shield(_stream_release(conn, layer, channel_name, joined))


class EventStreamResponse(StreamingHttpResponse):
    """Gives the stream's slot back when Django closes the response — also
    when the client left before the body started (the stream's own `finally`
    never runs then)."""

    def __init__(self, conn: StreamConnection, stream) -> None:
        super().__init__(stream, content_type="text/event-stream")
        self.conn = conn

    def close(self) -> None:
        try:
            self.conn.release()
        except Exception:
            logger.exception("SSE stream slot release failed")
        super().close()


def _client_gone() -> bool:
    """Whether Django has cancelled this stream (its client left). A library
    awaited during the set-up may swallow the CancelledError (seen with the
    Redis clients when the client leaves right after the headers); the
    task's pending cancellation count still tells, and the stream must end
    rather than run on unseen, holding its slot."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _stream_release(conn: StreamConnection, layer, channel_name, groups: list[str]) -> None:
    """Give back the slot and leave the groups; each step on its own."""
    steps = [sync_to_async(conn.release, thread_sensitive=False)()]
    steps += [layer.group_discard(group, channel_name) for group in groups]
    for step in steps:
        try:
            await step
        except Exception:
            logger.exception("SSE stream clean-up step failed")


class StreamConnection:
    """A stream as the process's housekeeper sees it: a connection slot to
    keep alive (its registration expires PRESENCE_TTL_SECONDS after the last
    refresh, so a killed process's streams give their slots back), and
    nothing to stall-check (the server's flow control does that)."""

    def __init__(self, tenant_id: str, user_id: int) -> None:
        self.tenant_id, self.user_id, self.conn_id = tenant_id, user_id, "sse-" + uuid.uuid4().hex

    def stall_check(self, now: float) -> None:
        pass

    def presence_entry(self) -> presence.Entry:
        return presence.Entry(self.tenant_id, self.user_id, self.conn_id, [])

    def release(self) -> None:
        """Give the slot back (idempotent)."""
        presence.connection_unregister(self.tenant_id, self.user_id, self.conn_id)
