"""Rooms, messages and notifications: tenant data, in each tenant's schema.

References to users (who live in `public`) have no database constraint and
`DO_NOTHING` on delete: deleting a user must not make Django look for these
tenant tables in the public schema. A deleted user's rows stay, pointing at
an id that no longer resolves (shown as a missing author).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Room(models.Model):
    name = models.CharField(max_length=100)
    is_private = models.BooleanField(default=False, help_text="Private rooms admit their members only.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class RoomMember(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "user"], name="room_member_unique")]

    def __str__(self) -> str:
        return f"user {self.user_id} in room {self.room_id}"


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["room", "-id"], name="message_room_id")]

    def __str__(self) -> str:
        return f"message {self.pk} in room {self.room_id}"


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    event = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "-id"], name="notification_user_id")]

    def __str__(self) -> str:
        return f"{self.event} for user {self.user_id}"
