"""Who is connected, across every server process, with expiry.

Each live connection keeps an entry `<user>:<connection>` in a sorted set per
room (score = expiry time) and in one per user (for the per-user connection
limit), refreshed by its heartbeat. A process that crashes stops refreshing,
and its entries expire within PRESENCE_TTL_SECONDS (45 s). No per-process dict.
"""
from __future__ import annotations

import time

from django.conf import settings

from common.redis import redis_client, tenant_key

from .eventlog import event_append


def _ttl() -> int:
    return settings.REALTIME["PRESENCE_TTL_SECONDS"]


def room_key(tenant_id, room_id: int) -> str:
    return tenant_key(tenant_id, "presence", "room", room_id)


def user_conns_key(tenant_id, user_id: int) -> str:
    return tenant_key(tenant_id, "conns", f"u{user_id}")


def connection_register(tenant_id, user_id: int, conn_id: str, limit: int) -> bool:
    """Count this connection against the user's limit; False when over it."""
    key, now = user_conns_key(tenant_id, user_id), time.time()
    client = redis_client()
    client.zremrangebyscore(key, "-inf", now)
    if client.zcard(key) >= limit:
        return False
    pipe = client.pipeline()
    pipe.zadd(key, {conn_id: now + _ttl()})
    pipe.expire(key, _ttl() * 2)
    pipe.execute()
    return True


def connection_unregister(tenant_id, user_id: int, conn_id: str) -> None:
    redis_client().zrem(user_conns_key(tenant_id, user_id), conn_id)


def _live_users(client, key: str, now: float) -> set[int]:
    return {int(m.split(b":")[0]) for m in client.zrangebyscore(key, now, "+inf")}


def presence_join(tenant_id, room_id: int, user_id: int, conn_id: str) -> None:
    client, key, now = redis_client(), room_key(tenant_id, room_id), time.time()
    already = user_id in _live_users(client, key, now)
    client.zadd(key, {f"{user_id}:{conn_id}": now + _ttl()})
    client.expire(key, _ttl() * 2)
    if not already:
        event_append(tenant_id, f"room:{room_id}", "presence.join", {"room": room_id, "user": user_id})


def presence_leave(tenant_id, room_id: int, user_id: int, conn_id: str) -> None:
    client, key = redis_client(), room_key(tenant_id, room_id)
    client.zrem(key, f"{user_id}:{conn_id}")
    if user_id not in _live_users(client, key, time.time()):
        event_append(tenant_id, f"room:{room_id}", "presence.leave", {"room": room_id, "user": user_id})


def presence_refresh(tenant_id, user_id: int, conn_id: str, room_ids: list[int]) -> None:
    """Heartbeat: extend this connection's entries and sweep expired ones
    (announcing the leave of users whose process died)."""
    client, now = redis_client(), time.time()
    expiry = now + _ttl()
    client.zadd(user_conns_key(tenant_id, user_id), {conn_id: expiry})
    for room_id in room_ids:
        key = room_key(tenant_id, room_id)
        expired = client.zrangebyscore(key, "-inf", now)
        client.zadd(key, {f"{user_id}:{conn_id}": expiry})
        client.expire(key, _ttl() * 2)
        if expired:
            client.zrem(key, *expired)
            live = _live_users(client, key, now)
            for gone in {int(m.split(b":")[0]) for m in expired} - live:
                event_append(tenant_id, f"room:{room_id}", "presence.leave", {"room": room_id, "user": gone})


def presence_list(tenant_id, room_id: int) -> list[int]:
    return sorted(_live_users(redis_client(), room_key(tenant_id, room_id), time.time()))
