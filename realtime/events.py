"""The realtime app's wire events (rooms, chat, notifications, presence), declared
with their data schema (realtime.engine.wire). Imported by RealtimeConfig.ready();
other apps declare theirs in their own `events.py`.
"""

from __future__ import annotations

from typing import Any

from .engine.wire import EventData, event_declare


@event_declare("message.created")
class MessageCreated(EventData):
    id: int
    room: int
    author: int | None
    body: str
    created_at: str


@event_declare("notification.created")
class NotificationCreated(EventData):
    id: int
    event: str
    data: dict[str, Any]
    created_at: str


@event_declare("presence.join")
class PresenceJoin(EventData):
    room: int
    user: int


@event_declare("presence.leave")
class PresenceLeave(EventData):
    room: int
    user: int


@event_declare("presence.enter")
class PresenceEnter(EventData):
    """On the `tenant` channel: a user is now at `where` (e.g. `{"doc": id, "title": …}`: in a document)."""

    user: int
    where: dict[str, Any]


@event_declare("presence.exit")
class PresenceExit(EventData):
    """On the `tenant` channel: the user's last connection at `where` closed (or its process died)."""

    user: int
    where: dict[str, Any]


@event_declare("room.created")
class RoomCreated(EventData):
    id: int
    name: str
    is_private: bool


@event_declare("announcement")
class Announcement(EventData):
    """A message to every member of a tenant (admins broadcast it)."""

    text: str
