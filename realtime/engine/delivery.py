"""Getting events to one WebSocket: the consumer's half that the hub talks to.

The hub (realtime.engine.hub) calls push()/push_one() synchronously, in stream order,
for every event of a channel the connection holds. Delivery is synchronous
too: the event's shared frame bytes go straight to the transport (or, off
uvicorn's sansio protocol, into an outbox that a sender task drains through
ASGI), so nothing can reorder events between the hub and the socket. The
process's housekeeper calls stall_check() to drop sockets that stop reading.
"""

from __future__ import annotations

import asyncio
import logging

from . import frames
from .frames import CLOSE_TOO_SLOW
from .hub import Event, hub, websocket_text_frame

BUFFER_MAX_BYTES = 1 << 20  # held-back events while pending; beyond it the client gets `reset`
QUEUE_MAX = 1_000  # ASGI path: events queued behind a blocked send before the socket is dropped early
STALL_BYTES = 64 * 1024  # raw path: unsent bytes that count as "not reading" (asyncio's high-water mark)
SEND_BUFFER_MAX_BYTES = 4 << 20  # raw path: unsent bytes that get the socket dropped at the next check
DROP_GRACE_SECONDS = 2  # a dropped socket's TCP connection is reset if it has not closed by then
PENDING_SECONDS = 5  # a new connection's events are held this long unless it resumes or speaks

logger = logging.getLogger("realtime.consumers")


class EventDelivery:
    """Mixed into RealtimeConsumer, which sets the state used here in connect():
    raw (a RawWriter or None), outbox, pending, buffer, buffer_bytes,
    overflowed, last_key, dropped, held, conn_id, tenant_id, user."""

    def push_one(self, event: Event) -> None:
        """The hot path — a live socket on the raw path, a new event: one write."""
        if (
            self.raw is None
            or self.pending
            or self.dropped
            or event.exclude == self.conn_id
            or event.key <= self.last_key
        ):
            return self.push([event])
        self.last_key = event.key
        self.raw.write(event.wire)

    def push(self, events: list[Event]) -> None:
        if self.dropped:
            return
        events = [event for event in events if event.exclude != self.conn_id]
        if self.pending:
            for event in events:
                self.buffer_bytes += len(event.text)
            if self.buffer_bytes > BUFFER_MAX_BYTES:
                self.overflowed, self.buffer = True, []
            elif not self.overflowed:
                self.buffer += events
            return
        self._emit(events)

    def _emit(self, events: list[Event]) -> None:
        """Write the events this socket has not had yet, in one go."""
        fresh = []
        for event in events:
            if event.key > self.last_key:  # else: replay and live overlap
                self.last_key = event.key
                fresh.append(event)
        if not fresh:
            return
        if self.raw is None:
            for event in fresh:
                self._write(event.text)
        elif len(fresh) == 1:
            self._write_wire(fresh[0].wire)
        else:
            self._write_wire(b"".join(event.wire for event in fresh))

    def _write(self, text: str) -> None:
        """Queue one frame behind everything written before it, without waiting."""
        if self.raw is not None:
            return self._write_wire(websocket_text_frame(text.encode()))
        if not self.dropped:
            self.outbox.put_nowait(text)
            if self.outbox.qsize() > QUEUE_MAX:
                self._drop()

    def _write_wire(self, wire: bytes) -> None:
        if not self.dropped:
            self.raw.write(wire)  # stall_check bounds what piles up unsent

    def _go_live(self) -> None:
        if not self.pending:
            return
        self.pending = False
        if self.overflowed:
            self._write(frames.Reset().dump())
        buffered, self.buffer, self.buffer_bytes = self.buffer, [], 0
        self._emit(buffered)

    async def _go_live_later(self):
        await asyncio.sleep(PENDING_SECONDS)
        self._go_live()

    def stall_check(self, now: float) -> None:
        """Called by the process's housekeeper every 0.2 s. Drops a socket that
        does not read: SEND_BUFFER_MAX_BYTES unsent at once, or more than
        STALL_BYTES unsent (raw path) / one send pending (ASGI path) for
        SEND_TIMEOUT_SECONDS."""
        if self.dropped:
            return
        if self.raw is not None:
            unsent = self.raw.buffered()
            if unsent > SEND_BUFFER_MAX_BYTES:
                return self._drop()
            self.stalled_since = (self.stalled_since or now) if unsent > STALL_BYTES else None
        else:
            self.stalled_since = self.sending_since
        if self.stalled_since is not None and now - self.stalled_since > self.conf["SEND_TIMEOUT_SECONDS"]:
            self._drop()

    def _drop(self) -> None:
        """Give up on a socket that does not read: stop taking events for it at
        once, discard what is queued, send 4408 — which the client only sees
        if it reads again — and reset the TCP connection if it has not
        closed DROP_GRACE_SECONDS later."""
        if self.dropped:
            return
        self.dropped = True
        logger.warning("dropping a socket that does not read (tenant %s, user %s)", self.tenant_id, self.user.pk)
        for channel in list(self.held):
            hub().unsubscribe(self.tenant_id, channel, self)
        self.buffer = []
        if self.outbox is not None:
            while not self.outbox.empty():
                self.outbox.get_nowait()
        self._close_soon(CLOSE_TOO_SLOW, "too_slow")
        if self.raw is not None:
            asyncio.get_running_loop().call_later(DROP_GRACE_SECONDS, self.raw.abort)
