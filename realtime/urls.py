from django.urls import path

from . import apis
from .views import events_stream

urlpatterns = [
    path("api/realtime/ticket", apis.TicketApi.as_view(), name="realtime-ticket"),
    path("api/realtime/announcements", apis.AnnouncementApi.as_view(), name="realtime-announce"),
    path("api/events", events_stream, name="realtime-events"),
    path("api/rooms", apis.RoomListApi.as_view(), name="room-list"),
    path("api/rooms/<int:room_id>/members", apis.RoomMembersApi.as_view(), name="room-members"),
    path("api/rooms/<int:room_id>/messages", apis.RoomMessagesApi.as_view(), name="room-messages"),
    path("api/rooms/<int:room_id>/presence", apis.RoomPresenceApi.as_view(), name="room-presence"),
    path("api/presence", apis.TenantPresenceApi.as_view(), name="tenant-presence"),
    path("api/notifications", apis.NotificationListApi.as_view(), name="notification-list"),
    path("api/notifications/<int:notification_id>/read", apis.NotificationReadApi.as_view(), name="notification-read"),
]
