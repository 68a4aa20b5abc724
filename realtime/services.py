"""Writes of the realtime app: rooms, chat, notifications, WebSocket tickets. Events go out
through realtime.engine.publish (after commit); closing live connections is realtime.engine.control."""

from __future__ import annotations

import json
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from accounts.services import session_credential, token_credential
from common.errors import ApplicationError, NotFound
from common.redis_client import redis_client, tenant_key

from .engine.control import credential_revoked
from .engine.publish import broadcast_room, broadcast_tenant, notify_user
from .models import Message, Notification, Room, RoomMember


def room_create(*, name: str, is_private: bool, creator) -> Room:
    with transaction.atomic():
        room = Room.objects.create(name=name, is_private=is_private, created_by=creator)
        RoomMember.objects.create(room=room, user=creator)
        if not is_private:
            broadcast_tenant("room.created", {"id": room.pk, "name": room.name, "is_private": False})
    return room


def room_get_for_user(*, room_id: int, user) -> Room:
    """The room if the user may see it; 404 room_not_found otherwise (a private
    room one is not in looks exactly like one that does not exist)."""
    room = Room.objects.filter(pk=room_id).first()
    if room is None or (room.is_private and not RoomMember.objects.filter(room=room, user=user).exists()):
        raise NotFound("No such room.", code="room_not_found", details={"room": room_id})
    return room


def room_member_add(*, room: Room, tenant, user_id: int) -> RoomMember:
    """Put a member of `tenant` in `room` (already in it: unchanged); 404 member_not_found
    for anyone else, whether the user exists or not."""
    user = get_user_model().objects.filter(pk=user_id, memberships__tenant=tenant).first()
    if user is None:
        raise NotFound("No such member of this tenant.", code="member_not_found")
    member, _ = RoomMember.objects.get_or_create(room=room, user=user)
    return member


def message_post(*, room_id: int, author, body: str, exclude: str = "") -> Message:
    """Store a message and broadcast it to the room (except the connection `exclude`)."""
    body = (body or "").strip()
    if not body or len(body) > 4000:
        raise ApplicationError("Invalid input.", code="validation_error", details={"body": ["1 to 4000 characters."]})
    if "\x00" in body:  # PostgreSQL text cannot hold it (a WebSocket frame got it this far: 1011)
        raise ApplicationError(
            "Invalid input.", code="validation_error", details={"body": ["Null characters are not allowed."]}
        )
    message = _message_insert_if_visible(room_id=room_id, author=author, body=body)
    if message is None:
        raise NotFound("No such room.", code="room_not_found", details={"room": room_id})
    broadcast_room(message.room_id, "message.created", message_data(message), exclude=exclude)  # after commit
    return message


# The room check and the insert in one statement, its own transaction: chat's hot path was
# four round trips (the room, BEGIN, INSERT, COMMIT). The same rule as room_get_for_user.
_INSERT_IF_VISIBLE = """
INSERT INTO {message} (room_id, author_id, body, created_at)
SELECT r.id, %(author)s, %(body)s, now() FROM {room} r
 WHERE r.id = %(room)s
   AND (NOT r.is_private OR EXISTS (SELECT 1 FROM {member} m WHERE m.room_id = r.id AND m.user_id = %(author)s))
RETURNING id, created_at
"""


def _message_insert_if_visible(*, room_id: int, author, body: str) -> Message | None:
    sql = _INSERT_IF_VISIBLE.format(
        message=connection.ops.quote_name(Message._meta.db_table),
        room=connection.ops.quote_name(Room._meta.db_table),
        member=connection.ops.quote_name(RoomMember._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"author": author.pk, "body": body, "room": room_id})
        row = cursor.fetchone()
    if row is None:
        return None
    return Message(id=row[0], room_id=room_id, author=author, body=body, created_at=row[1])


def message_data(message: Message) -> dict:
    return {
        "id": message.pk,
        "room": message.room_id,
        "author": message.author_id,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
    }


def notification_create(*, user_id: int, event: str, data: dict) -> Notification:
    with transaction.atomic():
        notification = Notification.objects.create(user_id=user_id, event=event, data=data)
        notify_user(
            user_id,
            "notification.created",
            {"id": notification.pk, "event": event, "data": data, "created_at": notification.created_at.isoformat()},
        )
    return notification


def notification_mark_read(*, notification_id: int, user) -> Notification:
    notification = Notification.objects.filter(pk=notification_id, user=user).first()
    if notification is None:
        raise NotFound("No such notification.", code="notification_not_found")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


# --- tickets: short-lived, one-time credentials for the WebSocket URL -----------


def ticket_issue(*, tenant, user, token_id: int | None = None, session_key: str | None = None) -> str:
    """A one-time ticket, remembering the credential it was issued with (a
    token, else a session) so that revoking that credential voids it."""
    ticket = secrets.token_urlsafe(24)
    if token_id:
        credential = token_credential(token_id)
    elif session_key:
        credential = session_credential(session_key)
    else:
        credential = f"u{user.pk}"
    redis_client().set(
        tenant_key(tenant.pk, "ws_ticket", ticket),
        json.dumps({"user": user.pk, "token": token_id, "credential": credential}),
        ex=settings.REALTIME["TICKET_TTL_SECONDS"],
    )
    return ticket


def ticket_redeem(*, tenant_id, ticket: str) -> dict | None:
    """The ticket's {user, token, credential} once, or None (unknown, used or expired)."""
    if not ticket or len(ticket) > 64:
        return None
    raw = redis_client().getdel(tenant_key(tenant_id, "ws_ticket", ticket))
    return json.loads(raw) if raw else None


def ticket_credential(grant: dict) -> str:
    """How connections opened with this ticket are named (their `ctl.<credential>` group)."""
    if grant.get("credential"):
        return grant["credential"]
    return token_credential(grant["token"]) if grant.get("token") else f"u{grant['user']}"


def ticket_grant_user(grant: dict):
    """The active user a redeemed ticket stands for, or None when the
    credential it was issued with has been revoked (or the token expired)
    since: such a ticket opens nothing (4401)."""
    from accounts.models import AuthToken

    if credential_revoked(ticket_credential(grant)):
        return None
    if (
        grant.get("token")
        and not AuthToken.objects.filter(
            pk=grant["token"], revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).exists()
    ):
        return None
    return get_user_model().objects.filter(pk=grant["user"], is_active=True).first()
