from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Notification, Room, RoomMember


def room_list_for_user(*, user) -> QuerySet[Room]:
    member = RoomMember.objects.filter(room=OuterRef("pk"), user=user)
    return Room.objects.filter(Q(is_private=False) | Exists(member)).order_by("id")


def notification_list(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-id")
