"""Rooms, messages, notifications, presence and WebSocket tickets (tenant hosts)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from accounts.models import AuthToken
from common.pagination import PagePagination
from common.serializers import page_representation
from tenants.api_base import IsTenantManager, TenantApi

from .engine.presence import presence_list, presence_where_list
from .engine.publish import broadcast_tenant
from .selectors import notification_list, room_list_for_user
from .serializers import (
    AnnouncementInputSerializer,
    MessageInputSerializer,
    MessageOutputSerializer,
    NotificationOutputSerializer,
    RoomInputSerializer,
    RoomMemberInputSerializer,
    RoomOutputSerializer,
    TicketOutputSerializer,
)
from .services import (
    message_post,
    notification_mark_read,
    room_create,
    room_get_for_user,
    room_member_add,
    ticket_issue,
)


class MessageCursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request):
        """DRF checks a cursor's offset and direction, not its position, which goes into
        `id < position` as is: `p=x` or a NUL was a 500. An id or nothing; else "Invalid cursor"."""
        cursor = super().decode_cursor(request)
        if (
            cursor is not None
            and cursor.position is not None
            and not (cursor.position.isascii() and cursor.position.isdigit())
        ):
            raise exceptions.NotFound(self.invalid_cursor_message)  # what DRF answers a bad offset
        return cursor


class TicketApi(TenantApi):
    capability = "realtime"  # tenants.access: 403 feature_disabled when switched off

    @extend_schema(
        request=None,
        responses=TicketOutputSerializer,
        tags=["realtime"],
        description="A one-time ticket for `/ws/?ticket=…`, valid 30 s.",
    )
    def post(self, request):
        token_id = request.auth.pk if isinstance(request.auth, AuthToken) else None
        session_key = None if token_id else getattr(request.session, "session_key", None)
        ticket = ticket_issue(tenant=self.tenant, user=request.user, token_id=token_id, session_key=session_key)
        return Response({"ticket": ticket, "expires_in": settings.REALTIME["TICKET_TTL_SECONDS"]})


class RoomListApi(TenantApi):
    @extend_schema(responses=RoomOutputSerializer(many=True), tags=["realtime"])
    def get(self, request):
        paginator = PagePagination()
        rooms = page_representation(
            paginator, RoomOutputSerializer, room_list_for_user(user=request.user), request, self
        )
        return paginator.get_paginated_response(rooms)

    @extend_schema(request=RoomInputSerializer, responses={201: RoomOutputSerializer}, tags=["realtime"])
    def post(self, request):
        data = RoomInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room = room_create(creator=request.user, **data.validated_data)
        return Response(RoomOutputSerializer(room).data, status=status.HTTP_201_CREATED)


class RoomMembersApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {404: "`room_not_found`, `member_not_found`"},
    }

    @extend_schema(
        request=RoomMemberInputSerializer,
        responses={201: None},
        tags=["realtime"],
        description="Add a tenant member to a private room (room members may).",
    )
    def post(self, request, room_id):
        room = room_get_for_user(room_id=room_id, user=request.user)
        data = RoomMemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room_member_add(room=room, tenant=self.tenant, user_id=data.validated_data["user_id"])
        return Response(status=status.HTTP_201_CREATED)


class RoomMessagesApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": {404: "`room_not_found`"},
        "post": {404: "`room_not_found`"},
    }
    pagination_class = MessageCursor  # newest first, by cursor (the schema reads it too)

    @extend_schema(responses=MessageOutputSerializer(many=True), tags=["realtime"])
    def get(self, request, room_id):
        room = room_get_for_user(room_id=room_id, user=request.user)
        paginator = self.pagination_class()
        messages = page_representation(paginator, MessageOutputSerializer, room.messages.all(), request, self)
        return paginator.get_paginated_response(messages)

    @extend_schema(request=MessageInputSerializer, responses={201: MessageOutputSerializer}, tags=["realtime"])
    def post(self, request, room_id):
        data = MessageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = message_post(room_id=room_id, author=request.user, body=data.validated_data["body"])
        return Response(MessageOutputSerializer(message).data, status=status.HTTP_201_CREATED)


class RoomPresenceApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": {404: "`room_not_found`"},
    }

    @extend_schema(
        tags=["realtime"],
        description="Users with a live connection subscribed to the room.",
        responses=inline_serializer(
            "RoomPresence",
            {"room": serializers.IntegerField(), "users": serializers.ListField(child=serializers.IntegerField())},
        ),
    )
    def get(self, request, room_id):
        room = room_get_for_user(room_id=room_id, user=request.user)
        return Response({"room": room.pk, "users": presence_list(self.tenant.pk, room.pk)})


class TenantPresenceApi(TenantApi):
    @extend_schema(
        tags=["realtime"],
        description="Who is where in the tenant: one entry per user and place an app tells (documents: "
        '`{"doc": id, "title": …}` while a socket is open on a document that is not private).',
        responses=inline_serializer(
            "TenantPresence",
            {
                "present": serializers.ListField(
                    child=inline_serializer(
                        "PresenceWhere", {"user": serializers.IntegerField(), "where": serializers.DictField()}
                    )
                )
            },
        ),
    )
    def get(self, request):
        return Response({"present": presence_where_list(self.tenant.pk)})


class NotificationListApi(TenantApi):
    @extend_schema(responses=NotificationOutputSerializer(many=True), tags=["realtime"])
    def get(self, request):
        paginator = PagePagination()
        notifications = page_representation(
            paginator, NotificationOutputSerializer, notification_list(user=request.user), request, self
        )
        return paginator.get_paginated_response(notifications)


class NotificationReadApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {404: "`notification_not_found`"},
    }

    @extend_schema(request=None, responses=NotificationOutputSerializer, tags=["realtime"])
    def post(self, request, notification_id):
        notification = notification_mark_read(notification_id=notification_id, user=request.user)
        return Response(NotificationOutputSerializer(notification).data)


class AnnouncementApi(TenantApi):
    capability = "realtime"  # its only effect is a live event
    tenant_permission_classes = [IsTenantManager]

    @extend_schema(
        request=AnnouncementInputSerializer,
        responses={202: None},
        tags=["realtime"],
        description="Owners/admins: an `announcement` event on the `tenant` channel.",
    )
    def post(self, request):
        data = AnnouncementInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        broadcast_tenant("announcement", data.validated_data, tenant=self.tenant)
        return Response(status=status.HTTP_202_ACCEPTED)
