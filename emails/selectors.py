"""Reads for emails: what goes into a member's digest."""

from __future__ import annotations

from datetime import datetime, tzinfo

from django.contrib.auth import get_user_model
from django.db.models import Count

from realtime.models import Message, Notification
from realtime.selectors import room_list_for_user
from tenants.models import Membership

NOTIFICATIONS_SHOWN = 5
ROOMS_SHOWN = 10
MESSAGES_SHOWN = 3  # per room
EXCERPT = 200  # characters of a message body


def digest_opt_in_get(*, tenant, user) -> bool:
    return bool(Membership.objects.filter(tenant=tenant, user=user).values_list("digest_opt_in", flat=True).first())


def _at(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def digest_summary(*, user, since: datetime, tz: tzinfo) -> dict | None:
    """What `user` has not seen in the current tenant (its schema active): unread
    notifications, and others' messages since `since` in rooms they may read.
    None when there is nothing."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    unread_count = unread.count()
    new = Message.objects.filter(room__in=room_list_for_user(user=user), created_at__gte=since).exclude(
        author_id=user.pk
    )
    per_room = list(new.values("room_id", "room__name").annotate(count=Count("id")).order_by("-count", "room_id"))
    if not unread_count and not per_room:
        return None
    rooms = []
    for row in per_room[:ROOMS_SHOWN]:
        latest = list(new.filter(room_id=row["room_id"]).order_by("-id")[:MESSAGES_SHOWN])
        rooms.append({"name": row["room__name"], "count": row["count"], "latest": latest})
    authors = dict(
        get_user_model()
        .objects.filter(pk__in={m.author_id for r in rooms for m in r["latest"]})
        .values_list("pk", "email")
    )
    for room in rooms:
        room["latest"] = [
            {
                "author": authors.get(m.author_id, "someone who left"),
                "at": _at(m.created_at, tz),
                "body": m.body if len(m.body) <= EXCERPT else m.body[: EXCERPT - 1] + "…",
            }
            for m in reversed(room["latest"])
        ]
    return {
        "unread_notifications": unread_count,
        "notifications": [
            {"event": n.event, "at": _at(n.created_at, tz)} for n in unread.order_by("-id")[:NOTIFICATIONS_SHOWN]
        ],
        "new_messages": sum(row["count"] for row in per_room),
        "rooms": rooms,
    }
