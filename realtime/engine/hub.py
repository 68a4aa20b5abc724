"""Process-local fan-out: each server process reads each event once and frames it once.

Events live in their tenant's Redis stream (realtime.engine.eventlog). One reader task
per process follows, with a blocking XREAD, the streams of the tenants that
have a subscriber in this process, and hands every event to the local
subscribers of its (tenant, channel):

- the event's JSON text and its WebSocket frame bytes are built once, not once
  per socket; a WebSocket served by uvicorn writes those bytes straight to its
  transport (realtime.engine.transport), so delivering an event to 1,000 local sockets
  costs 1,000 `write()` calls and nothing else;
- the reader resumes from the last id it saw, so a dropped Redis connection
  delays events but loses none (a pub/sub subscription would lose them);
- the reader is supervised: any other failure is logged and the reader
  restarts after a back-off; a malformed entry is skipped, and a batch whose
  dispatch fails is skipped (clients can resume it from the log) instead of
  stopping delivery for the whole process;
- delivery is synchronous, in stream order: no task per socket, no queue per
  socket, nothing to reorder;
- when the reader falls behind, one XREAD returns many events and each
  subscriber gets all of its share at once — one write for several frames —
  so a backlog costs fewer system calls per event and drains instead of
  growing.

Tenant isolation: subscriptions are keyed by (tenant id, channel) and a tenant's
events come from that tenant's stream only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .channel_names import stream_key
from .eventlog import frame_with_id, id_key
from .loops import per_event_loop

logger = logging.getLogger(__name__)

BLOCK_MS = 2_000  # longest wait of one XREAD (under redis-py's 5 s socket timeout); new tenants interrupt it
BATCH = 1_000  # entries per stream per XREAD
RESTART_BACKOFF = 0.5  # first wait before the supervisor restarts a failed reader (doubles, up to 5 s)


def _entry_id(raw) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def websocket_text_frame(payload: bytes) -> bytes:
    """An unmasked, final text frame (RFC 6455 §5.2), as a server sends it."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


@dataclass(slots=True)
class Event:
    id: str
    key: tuple[int, int]  # id_key(id), for ordering without re-parsing
    channel: str
    text: str  # the `event` frame, JSON
    exclude: str = ""  # connection id that must not receive it (the chat sender)
    _wire: bytes | None = field(default=None, repr=False)

    @property
    def wire(self) -> bytes:
        """The WebSocket frame carrying `text`, built on first use and shared."""
        if self._wire is None:
            self._wire = websocket_text_frame(self.text.encode())
        return self._wire


class Subscriber(Protocol):
    def push(self, events: list[Event]) -> None:
        """Take events (in id order), synchronously and without blocking."""

    def push_one(self, event: Event) -> None:
        """push([event]), for the common case of one event at a time."""


class Hub:
    def __init__(self) -> None:
        self.subscribers: dict[tuple[str, str], set[Subscriber]] = defaultdict(set)
        self.tenant_refs: dict[str, int] = defaultdict(int)
        self.cursors: dict[str, str] = {}  # stream key -> last id read
        self.tenant_of: dict[str, str] = {}  # stream key -> tenant id
        self.client = aioredis.Redis.from_url(settings.REDIS_URL)
        self.reader = aioredis.Redis.from_url(settings.REDIS_URL, single_connection_client=True)
        self.reader_id: int | None = None
        self.blocked = False
        self.wake = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def subscribe(self, tenant_id: str, channel: str, subscriber: Subscriber) -> None:
        key = stream_key(tenant_id)
        if key not in self.cursors:
            newest = await self._newest_id(key)
            if key not in self.cursors:  # another subscriber may have started it meanwhile
                self.cursors[key], self.tenant_of[key] = newest, tenant_id
                await self._interrupt()
        if subscriber not in self.subscribers[(tenant_id, channel)]:
            self.subscribers[(tenant_id, channel)].add(subscriber)
            self.tenant_refs[tenant_id] += 1
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name="realtime-hub")

    def unsubscribe(self, tenant_id: str, channel: str, subscriber: Subscriber) -> None:
        subscribers = self.subscribers.get((tenant_id, channel))
        if not subscribers or subscriber not in subscribers:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self.subscribers[(tenant_id, channel)]
        self.tenant_refs[tenant_id] -= 1
        if self.tenant_refs[tenant_id] == 0:
            del self.tenant_refs[tenant_id]
            key = stream_key(tenant_id)
            self.cursors.pop(key, None)
            self.tenant_of.pop(key, None)

    async def _newest_id(self, key: str) -> str:
        newest = await self.client.xrevrange(key, count=1)
        if newest:
            return newest[0][0].decode()
        seconds, micros = await self.client.time()
        return f"{seconds * 1000 + micros // 1000 - 1}-0"

    async def _interrupt(self) -> None:
        """Make the reader's pending XREAD return, so its next one includes a new stream."""
        self.wake.set()
        try:
            for _ in range(20):  # the XREAD may not have reached Redis yet: try again shortly
                if not self.blocked or self.reader_id is None:
                    return
                if await self.client.client_unblock(self.reader_id):
                    return
                await asyncio.sleep(0.005)
        except (RedisConnectionError, RedisTimeoutError):
            pass  # the XREAD ends by itself within BLOCK_MS

    async def _run(self) -> None:
        """The reader, supervised: an unexpected error (a bug, a malformed
        entry, a Redis error reply) is logged and the reader starts again
        after a back-off, from the last event read — it never ends silently."""
        backoff = RESTART_BACKOFF
        while True:
            started = time.monotonic()
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception:
                if time.monotonic() - started > 60:
                    backoff = RESTART_BACKOFF  # a failure long after the last one starts over
                logger.exception("realtime hub reader failed; restarting in %.1f s", backoff)
                self.reader_id = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5)

    async def _read(self) -> None:
        backoff = 0.1
        while True:
            if not self.cursors:
                self.wake.clear()
                await self.wake.wait()
                continue
            try:
                if self.reader_id is None:
                    self.reader_id = await self.reader.client_id()
                self.wake.clear()
                self.blocked = True
                reply = await self.reader.xread(dict(self.cursors), count=BATCH, block=BLOCK_MS)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                logger.warning("realtime hub lost Redis (%s); resuming from the last event read", exc)
                self.reader_id = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5)
                continue
            finally:
                self.blocked = False
            backoff = 0.1
            for key, entries in reply or ():
                key = key.decode() if isinstance(key, bytes) else key
                try:
                    self._dispatch(key, entries)
                except Exception:
                    # Skip the batch rather than read it again and again; clients
                    # that miss it can resume from the log.
                    logger.exception("realtime hub failed to dispatch %d events of %s", len(entries), key)
                    if key in self.cursors and entries:
                        self.cursors[key] = _entry_id(entries[-1][0])

    def _dispatch(self, key: str, entries) -> None:
        tenant_id, cursor = self.tenant_of.get(key), self.cursors.get(key)
        if tenant_id is None or cursor is None:
            return  # nobody here follows this tenant any more
        last = id_key(cursor)
        batch: list[tuple[Event, set[Subscriber]]] = []
        for raw_id, fields in entries:
            event_id = raw_id.decode()
            event_key = id_key(event_id)
            if event_key <= last:
                continue  # a stream re-added while this XREAD was in flight
            last = event_key
            try:
                channel = fields[b"c"].decode()
                subscribers = self.subscribers.get((tenant_id, channel))
                if subscribers:
                    batch.append(
                        (
                            Event(
                                event_id,
                                event_key,
                                channel,
                                frame_with_id(event_id, fields[b"b"].decode()),
                                fields.get(b"x", b"").decode(),
                            ),
                            subscribers,
                        )
                    )
            except (KeyError, UnicodeDecodeError):  # not written by event_append: skip it
                logger.error("realtime hub skipped malformed entry %s of %s", event_id, key)
        self.cursors[key] = f"{last[0]}-{last[1]}"
        if len(batch) == 1:  # keeping up: the hot path
            event, subscribers = batch[0]
            for subscriber in tuple(subscribers):  # push may unsubscribe (a dropped socket)
                try:
                    subscriber.push_one(event)
                except Exception:  # one subscriber's failure must not stop the others
                    logger.exception("realtime subscriber failed to take an event")
            return
        shares: dict[Subscriber, list[Event]] = {}
        for event, subscribers in batch:
            for subscriber in subscribers:
                share = shares.get(subscriber)
                if share is None:
                    shares[subscriber] = [event]
                else:
                    share.append(event)
        for subscriber, events in shares.items():
            try:
                subscriber.push(events)
            except Exception:
                logger.exception("realtime subscriber failed to take events")


hub = per_event_loop(Hub)  # hub(): this process's hub
