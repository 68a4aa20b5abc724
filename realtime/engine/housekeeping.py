"""Per-process housekeeping of the live WebSockets, instead of timers per socket.

- every 0.2 s: the stall check of every socket (a timer task per connection
  was 5,000 task wake-ups a second for 1,000 idle sockets);
- every HEARTBEAT_SECONDS: one presence refresh for all of them, pipelined,
  in one trip to a worker thread (a thread hop and four Redis round trips per
  connection made the event loop wait for the GIL hundreds of times a second).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from asgiref.sync import sync_to_async
from django.conf import settings

from . import presence
from .loops import per_event_loop

logger = logging.getLogger(__name__)

STALL_PERIOD = 0.2


class Socket(Protocol):
    def stall_check(self, now: float) -> None:
        """Drop the connection if it has stopped reading (see the consumer)."""

    def presence_entry(self) -> presence.Entry:
        """What the presence heartbeat refreshes for this connection."""


class Housekeeper:
    def __init__(self) -> None:
        self.sockets: set[Socket] = set()
        self.task: asyncio.Task | None = None
        self.beat: asyncio.Task | None = None

    def watch(self, socket: Socket) -> None:
        self.sockets.add(socket)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name="realtime-housekeeping")

    def unwatch(self, socket: Socket) -> None:
        self.sockets.discard(socket)

    async def _run(self) -> None:
        conf = settings.REALTIME
        period = min(STALL_PERIOD, conf["SEND_TIMEOUT_SECONDS"] / 5)
        next_heartbeat = time.monotonic() + conf["HEARTBEAT_SECONDS"]
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for socket in tuple(self.sockets):
                try:
                    socket.stall_check(now)
                except Exception:
                    logger.exception("realtime stall check failed")
            if now >= next_heartbeat and (self.beat is None or self.beat.done()):
                next_heartbeat = now + conf["HEARTBEAT_SECONDS"]
                self.beat = asyncio.create_task(self._heartbeat())  # stall checks go on meanwhile

    async def _heartbeat(self) -> None:
        entries = [socket.presence_entry() for socket in tuple(self.sockets)]
        if not entries:
            return
        try:
            await sync_to_async(presence.presence_refresh_many, thread_sensitive=False)(entries)
        except Exception:  # Redis away: the next heartbeat tries again, entries live 45 s
            logger.exception("realtime presence heartbeat failed")


housekeeper = per_event_loop(Housekeeper)  # housekeeper(): this process's housekeeper
