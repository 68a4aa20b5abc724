"""A list page read as `.values()` rows says exactly what DRF's serializer says of the same
rows (common/serializers.py `page_representation`), and falls back to DRF for fields only
DRF can render."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from django_tenants.utils import tenant_context
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from common.pagination import PagePagination
from common.serializers import ModelSerializer, _rows_for, page_representation
from realtime.apis import MessageCursor
from realtime.models import Message, Notification, Room
from realtime.serializers import MessageOutputSerializer, NotificationOutputSerializer, RoomOutputSerializer


def request(query: str = "") -> Request:
    return Request(APIRequestFactory().get("/api/list" + query))


def both(paginator_class, serializer_class, queryset, query=""):
    """(rows path, DRF path) for the same page of the same rows."""
    assert _rows_for(serializer_class) is not None  # it does take the rows path
    fast = page_representation(paginator_class(), serializer_class, queryset, request(query), None)
    drf = serializer_class(paginator_class().paginate_queryset(queryset, request(query)), many=True).data
    return fast, [dict(item) for item in drf]


def test_rooms_read_as_rows_are_what_drf_says(acme):
    with tenant_context(acme):
        Room.objects.create(name="général ☕", created_by=acme.owner)
        Room.objects.create(name="", is_private=True)  # no creator
        fast, drf = both(PagePagination, RoomOutputSerializer, Room.objects.order_by("id"))
    assert fast == drf and len(fast) == 2
    assert fast[1]["created_by"] is None and fast[0]["created_at"].endswith("Z")


def test_messages_read_as_rows_are_what_drf_says_through_a_cursor(acme):
    with tenant_context(acme):
        room = Room.objects.create(name="r")
        for i in range(5):
            Message.objects.create(room=room, author=acme.owner if i % 2 else None, body=f'm{i} \u2028 "q"')
        fast, drf = both(MessageCursor, MessageOutputSerializer, room.messages.all(), "?page_size=3")
    assert fast == drf and len(fast) == 3


def test_notifications_read_as_rows_are_what_drf_says(acme):
    with tenant_context(acme):
        Notification.objects.create(user=acme.owner, event="e", data={"n": [1, 2.5, None], "s": "ü"})
        Notification.objects.create(
            user=acme.owner, event="e", data={}, read_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
        )
        Notification.objects.create(
            user=acme.owner,
            event="e",
            data=[],
            read_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        )
        fast, drf = both(PagePagination, NotificationOutputSerializer, Notification.objects.order_by("id"))
    assert fast == drf and len(fast) == 3


def test_a_field_only_drf_can_render_sends_the_list_through_drf(acme):
    class Shouting(ModelSerializer):
        name = serializers.SerializerMethodField()

        class Meta:
            model = Room
            fields = ["id", "name"]

        def get_name(self, room):
            return room.name.upper()

    with tenant_context(acme):
        Room.objects.create(name="quiet")
        fast = page_representation(PagePagination(), Shouting, Room.objects.all(), request(), None)
    assert _rows_for(Shouting) is None
    assert [dict(item) for item in fast] == [{"id": fast[0]["id"], "name": "QUIET"}]
