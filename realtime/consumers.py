"""The WebSocket endpoint of every tenant host: `/ws/`.

Thin: it checks who is connecting (realtime.admission: the rules every tenant socket
shares), parses frames against realtime.engine.frames, and calls services. Delivery rules (see docs/realtime.md):

- A connection starts *pending*: live events are held back until the client
  sends `resume`, any frame other than (un)subscribe, or PENDING_SECONDS (realtime.engine.delivery) pass.
  So a reconnecting client re-subscribes, resumes, and gets the missed events,
  in order, then the live ones — with no gap and no duplicate (ids of one
  tenant are totally ordered; see realtime.engine.eventlog).
- The sending connection of a chat message gets an `ack`, not the event.
- Events come from the process's hub (realtime.engine.hub), not the channel layer,
  which carries only control messages (close these sockets).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from asgiref.sync import sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from common.compat.channels import consumer_asgi_send
from common.errors import ApplicationError
from common.exceptions import database_unavailable
from tenants.context import tenant_sync_to_async

from .admission import SocketAdmission
from .engine import frames, presence
from .engine.channel_names import Channel
from .engine.delivery import EventDelivery
from .engine.eventlog import events_since, id_key, latest_id
from .engine.frames import (
    CLOSE_BAD_FRAME,
    CLOSE_INTERNAL_ERROR,
    CLOSE_RATE_LIMITED,
    CLOSE_TRY_AGAIN_LATER,
)
from .engine.housekeeping import housekeeper
from .engine.hub import Event, hub
from .engine.transport import raw_writer
from .services import message_post, room_get_for_user

logger = logging.getLogger(__name__)
in_thread = sync_to_async  # for Redis calls (thread_sensitive: serialised per consumer)


class RealtimeConsumer(SocketAdmission, EventDelivery, AsyncWebsocketConsumer):
    # --- handshake ------------------------------------------------------------

    async def connect(self):
        self.conf = settings.REALTIME
        self.released = False
        self.dropped = False
        self.closing = False
        self.sending_since = self.stalled_since = None
        self.tasks: list[asyncio.Task] = []
        self.held: set[str] = set()
        self.raw, self.outbox = None, None
        if not await self.admit(uuid.uuid4().hex):  # realtime.admission: the rules of every tenant socket
            return

        await self.accept()
        self.raw = raw_writer(consumer_asgi_send(self))
        self.outbox = asyncio.Queue() if self.raw is None else None
        self.pending, self.buffer, self.overflowed, self.last_key = True, [], False, (0, 0)
        self.buffer_bytes = 0
        self.allowance, self.checked_at = float(self.conf["FRAMES_PER_10S"]), time.monotonic()
        for channel in (f"user:{self.user.pk}", "tenant"):
            await self._hold(channel)
        welcome = frames.Welcome(
            user=self.user.pk,
            tenant=self.tenant.slug,
            channels=sorted(self.held),
            last_event_id=await in_thread(latest_id)(self.tenant_id),
        )
        await self._send_frame(welcome)
        self.tasks.append(asyncio.create_task(self._go_live_later()))
        housekeeper().watch(self)  # stall checks and the presence heartbeat
        if self.outbox is not None:
            self.tasks.append(asyncio.create_task(self._sender()))

    # --- frames in --------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if self.closing:
            return  # frames that were already in flight when we decided to close
        if size > self.conf["MAX_FRAME_BYTES"]:
            return self._close_soon(CLOSE_BAD_FRAME, "frame_too_large")
        if not self._within_rate():
            return self._close_soon(CLOSE_RATE_LIMITED, "rate_limited")
        try:
            frame = frames.client_frame_parse(text_data)
        except frames.FrameError as exc:
            return await self._error(exc.code, exc.message)
        if not isinstance(frame, (frames.Subscribe, frames.Unsubscribe, frames.Resume)):
            self._go_live()
        await getattr(self, f"on_{frame.type}")(frame)

    def _close_soon(self, code: int, reason: str) -> None:
        """Close from a task of its own: the closing handshake waits for the
        client's reply, which the server reads only after the frames still
        queued from this client — so awaiting it here would stall this loop."""
        self.closing = True
        self.tasks.append(asyncio.create_task(self._close_quietly(code, reason)))

    async def _close_quietly(self, code: int, reason: str) -> None:
        try:
            await self.close(code=code, reason=reason)
        except OSError:
            pass  # the peer went away first (uvicorn's ClientDisconnected)

    def _within_rate(self) -> bool:
        """Token bucket: FRAMES_PER_10S frames per 10 s, bursts up to that."""
        rate = self.conf["FRAMES_PER_10S"]
        now = time.monotonic()
        self.allowance = min(rate, self.allowance + (now - self.checked_at) * rate / 10)
        self.checked_at = now
        if self.allowance < 1:
            return False
        self.allowance -= 1
        return True

    async def on_ping(self, frame):
        await self._send_frame(frames.Pong())

    async def on_subscribe(self, frame):
        channel = Channel.parse(frame.channel)
        if channel is None:
            return await self._error("invalid_channel", "Channels are user:<id>, room:<id> or tenant.")
        if channel.kind == "user" and channel.ident != self.user.pk:
            return await self._error("channel_forbidden", "You may only hold your own user channel.")
        if channel.kind == "room":
            try:
                await tenant_sync_to_async(room_get_for_user)(room_id=channel.ident, user=self.user)
            except ApplicationError as exc:
                return await self._error(exc.code, exc.message)
        await self._hold(channel.name)
        if channel.kind == "room":
            await in_thread(presence.presence_join)(self.tenant_id, channel.ident, self.user.pk, self.conn_id)
        await self._send_frame(frames.Subscribed(channel=channel.name))

    async def on_unsubscribe(self, frame):
        channel = Channel.parse(frame.channel)
        if channel is None or channel.name not in self.held:
            return await self._error("not_subscribed", "This connection does not hold that channel.")
        self._release(channel.name)
        if channel.kind == "room":
            await in_thread(presence.presence_leave)(self.tenant_id, channel.ident, self.user.pk, self.conn_id)
        await self._send_frame(frames.Unsubscribed(channel=channel.name))

    async def on_message(self, frame):
        try:
            message = await tenant_sync_to_async(message_post)(
                room_id=frame.room, author=self.user, body=frame.body, exclude=self.conn_id
            )
        except ApplicationError as exc:
            return await self._error(exc.code, exc.message)
        await self._send_frame(frames.Ack(ref=frame.ref, id=message.pk))

    async def on_resume(self, frame):
        if not self.pending:
            return await self._error("resume_too_late", "Send resume right after (re)subscribing, before other frames.")
        replay = await in_thread(events_since)(self.tenant_id, frame.last_event_id, set(self.held))
        # From here on nothing awaits: live events stay held until the replay is written.
        if replay.reset:
            self._write(frames.Reset().dump())
        else:
            self.last_key = id_key(frame.last_event_id)
            self._emit([Event(event_id, id_key(event_id), "", text) for event_id, text in replay.frames])
        self._go_live()

    # --- replies -------------------------------------------------------------------

    async def _send_frame(self, frame: frames.Frame):
        await self._send_text(frame.dump())

    async def _send_text(self, text: str):
        """Send one frame through ASGI (replies, and events off the raw path)."""
        if self.dropped:
            return
        self.sending_since = time.monotonic()
        await self.send(text_data=text)
        self.sending_since = None

    async def _sender(self):
        while True:
            await self._send_text(await self.outbox.get())

    async def _error(self, code: str, message: str):
        await self._send_frame(frames.Error(code=code, message=message))

    # --- groups, heartbeat, goodbye -----------------------------------------------

    async def _hold(self, channel: str):
        self.held.add(channel)
        await hub().subscribe(self.tenant_id, channel, self)

    def _release(self, channel: str):
        self.held.discard(channel)
        hub().unsubscribe(self.tenant_id, channel, self)

    def _rooms(self) -> list[int]:
        return [int(name.split(":")[1]) for name in self.held if name.startswith("room:")]

    def presence_entry(self) -> presence.Entry:
        return presence.Entry(self.tenant_id, self.user.pk, self.conn_id, self._rooms())

    async def disconnect(self, code):
        await self._release_all()

    # --- every exit path ---------------------------------------------------------

    async def __call__(self, scope, receive, send):
        """Whatever ends the connection — a close, a crash in a handler, a
        cancellation — gives back what it holds: its slot, presence, groups,
        hub subscriptions, tasks."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            await asyncio.shield(self._release_all())

    async def dispatch(self, message):
        """A handler that fails (a bug, Redis or the database away) ends the
        connection with 1011 instead of leaving it half alive."""
        try:
            await super().dispatch(message)
        except StopConsumer:
            raise
        except Exception as exc:
            logger.exception("realtime consumer failed on %s", message.get("type"))
            await self._release_all()
            try:
                await self.close(code=CLOSE_TRY_AGAIN_LATER if database_unavailable(exc) else CLOSE_INTERNAL_ERROR)
            except Exception:
                pass  # the transport is gone already
            raise StopConsumer() from None

    async def _release_all(self) -> None:
        """Idempotent; each step on its own, so one failing does not keep the
        slot taken (it would come back anyway when its entry expires, in
        PRESENCE_TTL_SECONDS, since nothing refreshes it any more)."""
        if getattr(self, "released", True):  # never connected, or released already
            return
        self.released = True
        for task in self.tasks:
            task.cancel()
        housekeeper().unwatch(self)
        for channel in list(self.held):
            hub().unsubscribe(self.tenant_id, channel, self)
        steps = self.admission_release_steps()  # the slot, the control groups
        if self.registered:
            steps += [
                in_thread(presence.presence_leave)(self.tenant_id, room_id, self.user.pk, self.conn_id)
                for room_id in self._rooms()
            ]
        for step in steps:
            try:
                await step
            except Exception:
                logger.exception("realtime consumer clean-up step failed")
