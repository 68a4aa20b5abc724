"""One live copy of each open document per server process, kept equal across processes.

A Room holds the document (pycrdt) and its awareness for the connections of this process. Its
content only ever comes from the database or from updates already stored there, so nothing a
client receives is less durable than the log:

- a connection's update is stored first, then applied here, sent to this process's other
  connections, and published on the document's Redis channel `t:<tenant id>:doc:<id>` for the
  other processes. One writer per room and process (Room.store): what the room's connections
  sent while the last batch was being stored is stored together, in one transaction
  (services.updates_append gives each its `seq`), then applied, sent (a batch merged into one
  message per peer, the same bytes for every peer that sent none of it) and published as one
  message;
- a process applies each seq once (`upto`: every seq up to it is applied; `ahead`: those
  applied beyond it). A gap — a message Redis pub/sub lost, or one still in flight — is filled
  from the database after CATCH_UP_SECONDS, and every RECONCILE_SECONDS each room compares its
  `upto` with the document's `last_seq`, so a process that missed a message while its Redis
  connection was away still converges (order does not matter to a CRDT; loss would);
- awareness (cursors, names) is relayed the same way and never stored; a connection's states
  are removed for everyone when it leaves; a process that opens a room asks the others for the
  states of their connections (QUERY), so a newcomer sees everyone, wherever they are connected.

The channel is subscribed before the document is read from the database, so an update is either
in what was read or arrives on the channel (or both: seqs make it count once).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import uuid
from collections import deque
from collections.abc import Callable

import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from django.conf import settings
from pycrdt import Awareness, Doc, create_awareness_message, create_update_message, merge_updates

from common.redis_client import redis_client, tenant_key
from realtime.engine.loops import per_event_loop
from tenants.context import schema_activate

from .selectors import document_log
from .ydoc import doc_build

logger = logging.getLogger(__name__)

UPDATE, AWARENESS, QUERY, GONE, BATCH = b"u", b"a", b"q", b"x", b"b"
_HEADER = struct.Struct(">c16s16sQ")  # kind, process, connection, seq; then the payload
_ITEM = struct.Struct(">QI")  # a BATCH payload: (seq, length, update bytes) after one another
BATCH_MAX_UPDATES, BATCH_MAX_BYTES = 256, 1 << 20  # what one transaction of a room's writer stores at most
PROCESS = uuid.uuid4().bytes  # this process's name on the channels (its own messages come back)


def channel_name(tenant_id, document_id) -> str:
    return tenant_key(tenant_id, "doc", document_id)


NOBODY = bytes(16)  # the process (and connection) of what sync code publishes: every process takes it


def bus_message(kind: bytes, conn: bytes, seq: int, payload: bytes, *, process: bytes = PROCESS) -> bytes:
    return _HEADER.pack(kind, process, conn, seq) + payload


def document_gone_publish(tenant_id, document_id) -> None:
    """From sync code (the DELETE endpoint, after commit): every process closes the document's sockets."""
    redis_client().publish(channel_name(tenant_id, document_id), bus_message(GONE, NOBODY, 0, b""))


def update_publish(tenant_id, document_id, seq: int, data: bytes) -> None:
    """From sync code, once update `seq` is stored (a restored version): every process's room
    applies it and sends it to its sockets, this process's too (the message names no process).
    If pub/sub loses it, the rooms' reconcile reads it from the log."""
    message = bus_message(UPDATE, NOBODY, seq, data, process=NOBODY)
    redis_client().publish(channel_name(tenant_id, document_id), message)


def batch_encode(items: list[tuple[int, bytes]]) -> bytes:
    return b"".join(_ITEM.pack(seq, len(data)) + data for seq, data in items)


def batch_decode(payload: bytes) -> list[tuple[int, bytes]]:
    items, at = [], 0
    while at + _ITEM.size <= len(payload):
        seq, size = _ITEM.unpack_from(payload, at)
        at += _ITEM.size
        items.append((seq, payload[at : at + size]))
        at += size
    return items


def _in_schema(tenant, func: Callable, kwargs: dict):
    schema_activate(tenant)
    try:
        return func(**kwargs)
    finally:
        schema_activate(None)


class Peer:
    """What a Room needs of a connection (documents.consumers.DocumentConsumer)."""

    conn_key: bytes
    awareness_ids: set[int]  # the awareness client ids this connection has set

    def deliver(self, message: bytes) -> None: ...

    def gone(self) -> None: ...


class Room:
    def __init__(self, bus: DocumentBus, tenant, document_id: uuid.UUID):
        self.bus, self.tenant, self.document_id = bus, tenant, document_id
        self.tenant_id = str(tenant.pk)
        self.channel = channel_name(self.tenant_id, document_id)
        self.doc = Doc()
        self.awareness = Awareness(self.doc)
        self.upto, self.ahead = 0, set()
        self.peers: set[Peer] = set()
        self.ready = asyncio.Event()
        self.failed: BaseException | None = None
        self.early: list[tuple[int, bytes]] = []
        self.gap_task: asyncio.Task | None = None
        self.reconcile_task: asyncio.Task | None = None
        self.pending: deque[tuple[bytes, Peer, int | None, asyncio.Future]] = deque()
        self.writer: asyncio.Task | None = None

    # --- loading and catching up (the database is the truth) -------------------

    async def load(self) -> None:
        snapshot, floor, updates = await self._in_schema(document_log, document_id=self.document_id)
        self.doc = doc_build(snapshot, (data for _, data in updates))
        self.awareness = Awareness(self.doc)
        self.upto = updates[-1][0] if updates else floor
        early, self.early = self.early, []
        for seq, data in early:
            self.remote_update(seq, data)
        self.ready.set()
        self.reconcile_task = asyncio.create_task(self._reconcile())
        await self.bus.publish(self.channel, bus_message(QUERY, bytes(16), 0, b""))  # the others' awareness

    async def _in_schema(self, func: Callable, **kwargs):
        """In this room's tenant schema, on the shared thread pool: a room outlives the connection
        that opened it, and with it that connection's thread (Channels' thread-sensitive context)."""
        return await database_sync_to_async(_in_schema, thread_sensitive=False)(self.tenant, func, kwargs)

    async def catch_up(self) -> None:
        snapshot, floor, updates = await self._in_schema(
            document_log, document_id=self.document_id, after_seq=self.upto
        )
        if snapshot is not None:  # compaction replaced updates this room lacks: the snapshot holds them
            self.doc.apply_update(snapshot)
            self._send(create_update_message(snapshot), exclude=None)
            self.upto = max(self.upto, floor)
            self.ahead = {seq for seq in self.ahead if seq > self.upto}
            self._advance()
        self.remote_updates(updates)

    async def _gap_fill(self) -> None:
        await asyncio.sleep(settings.DOCUMENTS["CATCH_UP_SECONDS"])
        try:
            await self.catch_up()
        except Exception:
            logger.exception("document catch-up failed (the next reconcile retries)")

    async def _reconcile(self) -> None:
        from .models import Document

        def last_seq() -> int:
            return Document.objects.filter(pk=self.document_id).values_list("last_seq", flat=True).first() or 0

        while True:
            await asyncio.sleep(settings.DOCUMENTS["RECONCILE_SECONDS"])
            try:
                if await self._in_schema(last_seq) > self.upto:
                    await self.catch_up()
            except Exception:
                logger.exception("document reconcile failed")

    # --- updates ---------------------------------------------------------------

    def _mark(self, seq: int) -> bool:
        """Record seq as applied; False if it already was."""
        if seq <= self.upto or seq in self.ahead:
            return False
        self.ahead.add(seq)
        self._advance()
        return True

    def _advance(self) -> None:
        while self.upto + 1 in self.ahead:
            self.upto += 1
            self.ahead.discard(self.upto)
        if self.ahead and (self.gap_task is None or self.gap_task.done()):
            self.gap_task = asyncio.create_task(self._gap_fill())

    def remote_update(self, seq: int, data: bytes) -> None:
        self.remote_updates([(seq, data)])

    def remote_updates(self, updates: list[tuple[int, bytes]]) -> None:
        """Stored updates from elsewhere (another process, the database)."""
        if not self.ready.is_set():
            self.early.extend(updates)
            return
        self._apply_send([(data, None) for seq, data in updates if self._mark(seq)])

    def _apply_send(self, updates: list[tuple[bytes, Peer | None]]) -> None:
        """Apply stored updates here and send them to this process's connections, each peer
        getting the ones it did not send itself, merged into one message."""
        if not updates:
            return
        for data, _ in updates:
            self.doc.apply_update(data)
        if len(updates) == 1:
            [(data, origin)] = updates
            return self._send(create_update_message(data), exclude=origin)
        origins = {origin for _, origin in updates if origin is not None}
        everything = create_update_message(merge_updates(*(data for data, _ in updates)))
        for peer in tuple(self.peers):
            if peer not in origins:
                peer.deliver(everything)
                continue
            others = [data for data, origin in updates if origin is not peer]
            if others:
                peer.deliver(create_update_message(others[0] if len(others) == 1 else merge_updates(*others)))

    async def store(self, data: bytes, origin: Peer, author_id: int | None) -> None:
        """Store a connection's (checked) update, then apply it here, send it to the others and
        publish it; returns once all that is done, raises what refused it (DocumentTooLarge,
        DocumentNotFound, a database or Redis error). A connection awaits each of its updates, so
        its order is kept; the room's one writer stores what is pending together."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((data, origin, author_id, future))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write(), name="documents-writer")
        await future

    async def _write(self) -> None:
        """Drain `pending`: up to BATCH_MAX_UPDATES / BATCH_MAX_BYTES at a time, one transaction
        each; only what is stored is applied, sent and published (in that order)."""
        from .services import updates_append  # services imports this module

        while self.pending:
            batch, size = [], 0
            while self.pending and len(batch) < BATCH_MAX_UPDATES:
                if batch and size + len(self.pending[0][0]) > BATCH_MAX_BYTES:
                    break
                batch.append(self.pending.popleft())
                size += len(batch[-1][0])
            futures = [future for *_, future in batch]
            try:
                results = await self._in_schema(
                    updates_append,
                    tenant=self.tenant,
                    document_id=self.document_id,
                    updates=[(data, author_id) for data, _, author_id, _ in batch],
                )
                stored = [
                    (seq, data, origin)
                    for (data, origin, _, _), seq in zip(batch, results, strict=True)
                    if isinstance(seq, int)
                ]
                self._apply_send([(data, origin) for seq, data, origin in stored if self._mark(seq)])
                if stored:
                    message = batch_encode([(seq, data) for seq, data, _ in stored])
                    await self.bus.publish(self.channel, bus_message(BATCH, bytes(16), 0, message))
            except Exception as exc:
                _settle(futures, exc)
                continue
            except BaseException:
                _settle(futures, None, cancelled=True)
                raise
            for future, result in zip(futures, results, strict=True):
                _settle([future], result if isinstance(result, Exception) else None)

    # --- awareness ---------------------------------------------------------------

    def awareness_states(self) -> bytes | None:
        """The awareness message a newcomer gets (None: nobody else is here)."""
        ids = [client for client in self.awareness.states if client != self.awareness.client_id]
        return create_awareness_message(self.awareness.encode_awareness_update(ids)) if ids else None

    def awareness_apply(self, update: bytes) -> list[int]:
        """Apply a client's awareness update; the client ids it carried."""
        seen: list[int] = []

        def observe(topic, change):
            if topic == "update":
                seen.extend(change[0]["added"] + change[0]["updated"])

        subscription = self.awareness.observe(observe)
        try:
            self.awareness.apply_awareness_update(update, "remote")
        finally:
            self.awareness.unobserve(subscription)
        return seen

    async def local_awareness(self, update: bytes, origin: Peer) -> list[int]:
        ids = self.awareness_apply(update)
        self._send(create_awareness_message(update), exclude=origin)
        await self.bus.publish(self.channel, bus_message(AWARENESS, origin.conn_key, 0, update))
        return ids

    async def awareness_answer(self) -> None:
        """Another process opened this room: publish the states of this process's connections."""
        ids = [client for peer in tuple(self.peers) for client in peer.awareness_ids if client in self.awareness.states]
        if ids:
            update = self.awareness.encode_awareness_update(ids)
            await self.bus.publish(self.channel, bus_message(AWARENESS, bytes(16), 0, update))

    def remote_awareness(self, update: bytes) -> None:
        if self.ready.is_set():
            self.awareness_apply(update)
            self._send(create_awareness_message(update), exclude=None)

    async def awareness_remove(self, ids: list[int], origin: Peer) -> None:
        """A leaving connection's states, removed here and everywhere (state null, same clock)."""
        ids = [client for client in ids if client in self.awareness.states]
        if not ids:
            return
        self.awareness.remove_awareness_states(ids, "left")
        update = self.awareness.encode_awareness_update(ids)
        self._send(create_awareness_message(update), exclude=origin)
        await self.bus.publish(self.channel, bus_message(AWARENESS, origin.conn_key, 0, update))

    # --- fan-out -------------------------------------------------------------------

    def _send(self, message: bytes, exclude: Peer | None) -> None:
        for peer in tuple(self.peers):
            if peer is not exclude:
                peer.deliver(message)

    def close(self) -> None:
        for task in (self.gap_task, self.reconcile_task):
            if task is not None:
                task.cancel()


def _settle(futures: list[asyncio.Future], error: BaseException | None, *, cancelled: bool = False) -> None:
    for future in futures:
        if future.done():
            continue  # its connection went away meanwhile
        if cancelled:
            future.cancel()
        elif error is not None:
            future.set_exception(error)
        else:
            future.set_result(None)


class DocumentBus:
    """This process's rooms and its one Redis pub/sub connection for them."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        self.client = aioredis.Redis.from_url(settings.REDIS_URL)
        self.pubsub = aioredis.Redis.from_url(settings.REDIS_URL).pubsub()
        self.reader: asyncio.Task | None = None
        self.answering: set[asyncio.Task] = set()

    async def join(self, tenant, document_id, peer: Peer) -> Room:
        """The document's room with `peer` in it, loaded; raises ConnectionRefusedError when full."""
        channel = channel_name(tenant.pk, document_id)
        room = self.rooms.get(channel)
        if room is None:
            room = self.rooms[channel] = Room(self, tenant, document_id)
            room.peers.add(peer)
            try:
                await self.pubsub.subscribe(channel)
                if self.reader is None or self.reader.done():
                    self.reader = asyncio.create_task(self._read(), name="documents-bus")
                await room.load()
            except BaseException as exc:
                room.failed = exc
                room.ready.set()
                await self.leave(room, peer)
                raise
            return room
        if len(room.peers) >= settings.DOCUMENTS["MAX_CONNECTIONS_PER_DOCUMENT"]:
            raise ConnectionRefusedError("too_many_connections")
        room.peers.add(peer)
        await room.ready.wait()
        if room.failed is not None:
            room.peers.discard(peer)
            raise RuntimeError("the document could not be loaded") from room.failed
        return room

    async def leave(self, room: Room, peer: Peer) -> None:
        room.peers.discard(peer)
        if room.peers or self.rooms.get(room.channel) is not room:
            return
        del self.rooms[room.channel]
        room.close()
        try:
            await self.pubsub.unsubscribe(room.channel)
        except Exception:
            logger.exception("documents: unsubscribe failed")

    async def publish(self, channel: str, message: bytes) -> None:
        await self.client.publish(channel, message)

    async def _read(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("documents: pub/sub read failed (rooms reconcile from the database)")
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                self._dispatch(message["channel"].decode(), message["data"])
            except Exception:
                logger.exception("documents: a bus message could not be handled")

    def _dispatch(self, channel: str, data: bytes) -> None:
        room = self.rooms.get(channel)
        if room is None or len(data) < _HEADER.size:
            return
        kind, process, _conn, seq = _HEADER.unpack_from(data)
        payload = data[_HEADER.size :]
        if kind == GONE:
            for peer in tuple(room.peers):
                peer.gone()
        elif process == PROCESS:
            return  # ours, applied already
        elif kind == UPDATE:
            room.remote_update(seq, payload)
        elif kind == BATCH:
            room.remote_updates(batch_decode(payload))
        elif kind == AWARENESS:
            room.remote_awareness(payload)
        elif kind == QUERY and room.ready.is_set():
            task = asyncio.create_task(room.awareness_answer())
            self.answering.add(task)
            task.add_done_callback(self.answering.discard)


bus = per_event_loop(DocumentBus)  # bus(): this process's rooms
