"""`/ws/docs/<id>` on a tenant host: the standard y-websocket protocol (what Yjs's
`WebsocketProvider` speaks), over binary messages. See docs/documents.md.

Who may connect is decided as for `/ws/` (realtime.admission: ticket or session, Origin,
membership, suspension, `features.realtime`, the per-user connection slots; access ending closes
the socket), then the document's own rule (documents.selectors: a private document admits its
members; 4404 for anyone else). A viewer's updates are refused with a y-protocols auth message
(`permission denied`) and change nothing. While open on a document that is not private, the socket
is in the tenant's presence as `{"doc": id, "title": …}` (realtime.engine.presence "where").

Messages (y-protocols): `[0, 0, sv]` sync step 1, `[0, 1, update]` sync step 2, `[0, 2, update]`
update, `[1, update]` awareness, `[3]` query awareness. On connect the server sends its step 1
and the others' awareness. An update is checked on a scratch document, handed to the room's writer, which
stores it with the others pending in the room (documents.services.updates_append), and only then
applied and sent on (documents.rooms.Room.store). The database is reached through worker threads:
no connection is held while a socket waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from pycrdt import YMessageType, YSyncMessageType, create_sync_message, read_message, write_var_uint

from common.errors import ApplicationError
from common.exceptions import database_unavailable
from realtime.admission import SocketAdmission, in_thread
from realtime.engine import presence
from realtime.engine.frames import CLOSE_INTERNAL_ERROR, CLOSE_TOO_SLOW, CLOSE_TRY_AGAIN_LATER
from realtime.engine.housekeeping import housekeeper
from tenants.context import tenant_sync_to_async

from .errors import DocumentNotFound, DocumentTooLarge, DocumentUpdateMalformed
from .rooms import Room, bus
from .selectors import EDIT, document_get_for_user
from .ydoc import EMPTY_UPDATE, update_check

logger = logging.getLogger(__name__)

# Close codes of /ws/docs/ beyond /ws/'s (4401, 4403, 4429, 1011, 1013): docs/documents.md
CLOSE_MALFORMED = 4400  # not a y-websocket message, or an update/awareness that does not decode
CLOSE_NOT_FOUND = 4404  # no such document here (or a private one you are not in), or it was deleted
CLOSE_TOO_LARGE = 4413  # a message over MAX_UPDATE_BYTES, or the document at MAX_DOCUMENT_BYTES
CLOSE_RATE_LIMITED = 4429  # over UPDATES_PER_SECOND, or the document has its connections

MESSAGE_AUTH, MESSAGE_QUERY_AWARENESS = 2, 3
PERMISSION_DENIED = bytes([MESSAGE_AUTH, 0]) + write_var_uint(len(b"read-only")) + b"read-only"


class DocumentConsumer(SocketAdmission, AsyncWebsocketConsumer):
    async def connect(self):
        self.conf = settings.DOCUMENTS
        self.released, self.closing = False, False
        self.room: Room | None = None
        self.where = False  # in the tenant's presence (presence_where_enter)
        self.awareness_ids: set[int] = set()
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.outbox_bytes = 0
        self.sending_since: float | None = None
        self.tasks: list[asyncio.Task] = []
        conn_id = uuid.uuid4()
        self.conn_key = conn_id.bytes
        if not await self.admit(conn_id.hex):  # realtime.admission: the rules of /ws/
            return
        document_id = self.scope["url_route"]["kwargs"]["document_id"]
        try:
            document, access = await tenant_sync_to_async(document_get_for_user)(
                document_id=document_id, user=self.user
            )
        except DocumentNotFound:
            return await self._refuse(CLOSE_NOT_FOUND, "document_not_found")
        self.document_id, self.can_edit = document.pk, access == EDIT
        try:
            self.room = await bus().join(self.tenant, self.document_id, self)
        except ConnectionRefusedError:
            return await self._refuse(CLOSE_RATE_LIMITED, "too_many_connections")
        await self.accept(subprotocol=self._subprotocol())
        self.allowance, self.checked_at = float(self._burst()), time.monotonic()
        self.tasks.append(asyncio.create_task(self._sender()))
        housekeeper().watch(self)  # the connection slot's heartbeat (and the presence entry's), the stall check
        self.deliver(create_sync_message(self.room.doc))
        states = self.room.awareness_states()
        if states is not None:
            self.deliver(states)
        if not document.is_private:  # a private document's title and existence are its members' business
            self.where = True
            where = {"doc": str(document.pk), "title": document.title}
            await in_thread(presence.presence_where_enter)(self.tenant_id, self.user.pk, self.conn_id, where)

    def _subprotocol(self) -> str | None:
        """y-websocket sends none; echo the first one offered if a client does."""
        offered = self.scope.get("subprotocols") or []
        return offered[0] if offered else None

    # --- messages in -----------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        if bytes_data is None:
            return self._close_soon(CLOSE_MALFORMED, "binary_messages_only")
        if len(bytes_data) > self.conf["MAX_UPDATE_BYTES"]:
            return self._close_soon(CLOSE_TOO_LARGE, "update_too_large")
        if not self._within_rate():
            return self._close_soon(CLOSE_RATE_LIMITED, "rate_limited")
        try:
            await self._handle(bytes_data)
        except DocumentUpdateMalformed:
            self._close_soon(CLOSE_MALFORMED, "update_malformed")
        except DocumentTooLarge:
            self._close_soon(CLOSE_TOO_LARGE, "document_too_large")
        except DocumentNotFound:
            self._close_soon(CLOSE_NOT_FOUND, "document_not_found")

    async def _handle(self, message: bytes) -> None:
        if not message:
            raise DocumentUpdateMalformed()
        kind = message[0]
        if kind == YMessageType.SYNC and len(message) >= 2:
            step, payload = message[1], _payload(message[2:])
            if step == YSyncMessageType.SYNC_STEP1:
                return self._sync_step2_send(payload)
            if step in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
                return await self._update(payload)
        elif kind == YMessageType.AWARENESS:
            return await self._awareness(_payload(message[1:]))
        elif kind == MESSAGE_QUERY_AWARENESS:
            states = self.room.awareness_states()
            return self.deliver(states) if states is not None else None
        elif kind == MESSAGE_AUTH:
            return None  # a client has nothing to say here
        raise DocumentUpdateMalformed()

    def _sync_step2_send(self, state: bytes) -> None:
        try:
            update = self.room.doc.get_update(state)
        except Exception:
            raise DocumentUpdateMalformed() from None
        self.deliver(bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_var_uint(len(update)) + update)

    async def _update(self, update: bytes) -> None:
        if update == EMPTY_UPDATE:
            return
        update_check(update)  # on a scratch document: a bad one leaves the document as it was
        if not self.can_edit:
            return self.deliver(PERMISSION_DENIED)
        await self.room.store(update, self, self.user.pk)  # stored, then here, to the others, to Redis

    async def _awareness(self, update: bytes) -> None:
        try:
            ids = await self.room.local_awareness(update, self)
        except (ValueError, IndexError, KeyError, TypeError, RuntimeError):
            raise DocumentUpdateMalformed() from None
        self.awareness_ids.update(ids)

    def _burst(self) -> int:
        return 2 * self.conf["UPDATES_PER_SECOND"]

    def _within_rate(self) -> bool:
        """Token bucket over every message (updates and awareness): UPDATES_PER_SECOND, bursting to
        two seconds' worth."""
        now = time.monotonic()
        rate = self.conf["UPDATES_PER_SECOND"]
        self.allowance = min(self._burst(), self.allowance + (now - self.checked_at) * rate)
        self.checked_at = now
        if self.allowance < 1:
            return False
        self.allowance -= 1
        return True

    # --- messages out (documents.rooms.Peer) ---------------------------------------

    def deliver(self, message: bytes) -> None:
        if self.closing:
            return
        self.outbox_bytes += len(message)
        if self.outbox_bytes > self.conf["SEND_QUEUE_MAX_BYTES"]:
            return self._close_soon(CLOSE_TOO_SLOW, "too_slow")
        self.outbox.put_nowait(message)

    def gone(self) -> None:
        """The document was deleted."""
        self._close_soon(CLOSE_NOT_FOUND, "document_deleted")

    async def _sender(self) -> None:
        while True:
            message = await self.outbox.get()
            self.outbox_bytes -= len(message)
            self.sending_since = time.monotonic()
            await self.send(bytes_data=message)
            self.sending_since = None

    def stall_check(self, now: float) -> None:
        """A socket whose send has waited SEND_TIMEOUT_SECONDS is not reading: 4408."""
        since = self.sending_since
        if since is not None and now - since > settings.REALTIME["SEND_TIMEOUT_SECONDS"] and not self.closing:
            self._close_soon(CLOSE_TOO_SLOW, "too_slow")

    def presence_entry(self) -> presence.Entry:
        return presence.Entry(self.tenant_id, self.user.pk, self.conn_id, [], self.where)

    def _close_soon(self, code: int, reason: str) -> None:
        """Close from a task of its own (see realtime.consumers: awaiting the handshake here would
        stall the frames still queued from this client)."""
        if self.closing:
            return
        self.closing = True
        self.tasks.append(asyncio.create_task(self._close_quietly(code, reason)))

    async def _close_quietly(self, code: int, reason: str) -> None:
        try:
            await self.close(code=code, reason=reason)
        except OSError:
            pass

    # --- every exit path --------------------------------------------------------------

    async def disconnect(self, code):
        await self._release_all()

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            await asyncio.shield(self._release_all())

    async def dispatch(self, message):
        """A handler that fails (a bug, Redis or the database away) ends the connection with 1011
        (1013 when no database connection came in time); the document is as stored."""
        try:
            await super().dispatch(message)
        except StopConsumer:
            raise
        except ApplicationError as exc:
            logger.warning("documents consumer refused %s: %s", message.get("type"), exc.code)
            await self._end(CLOSE_INTERNAL_ERROR)
        except Exception as exc:
            logger.exception("documents consumer failed on %s", message.get("type"))
            await self._end(CLOSE_TRY_AGAIN_LATER if database_unavailable(exc) else CLOSE_INTERNAL_ERROR)

    async def _end(self, code: int):
        await self._release_all()
        try:
            await self.close(code=code)
        except Exception:
            pass
        raise StopConsumer() from None

    async def _release_all(self) -> None:
        if getattr(self, "released", True):
            return
        self.released = True
        for task in self.tasks:
            task.cancel()
        housekeeper().unwatch(self)
        steps = self.admission_release_steps()
        if self.where:
            steps.append(in_thread(presence.presence_where_leave)(self.tenant_id, self.user.pk, self.conn_id))
        if self.room is not None:
            room, self.room = self.room, None
            steps.insert(0, room.awareness_remove(list(self.awareness_ids), self))
            steps.insert(1, bus().leave(room, self))
        for step in steps:
            try:
                await step
            except Exception:
                logger.exception("documents consumer clean-up step failed")


def _payload(rest: bytes) -> bytes:
    """The var-length byte string at the start of `rest` (y-protocols' writeVarUint8Array)."""
    try:
        return read_message(rest)
    except Exception:
        raise DocumentUpdateMalformed() from None
