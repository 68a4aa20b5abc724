"""Who is connected, across every server process, with expiry.

Each live connection keeps an entry `<user>:<connection>` in a sorted set per
room (score = expiry time) and in one per user (for the per-user connection
limit), refreshed by its heartbeat. A process that crashes stops refreshing,
and its entries expire within PRESENCE_TTL_SECONDS (45 s). No per-process dict.

A connection that is somewhere worth telling the tenant (a document: the app
says what, e.g. `{"doc": id, "title": …}`) also has an entry in the tenant's
"where" set, with that place in a hash beside it: the tenant's presence
(presence_where_list), announced on the `tenant` channel (`presence.enter`,
`presence.exit`, once per user and place), refreshed and expired the same way.
"""

from __future__ import annotations

import json
import time
from typing import Any, NamedTuple

from django.conf import settings

from common.redis_client import redis_client, tenant_key

from .eventlog import event_append


def _ttl() -> int:
    return settings.REALTIME["PRESENCE_TTL_SECONDS"]


def room_key(tenant_id, room_id: int) -> str:
    return tenant_key(tenant_id, "presence", "room", room_id)


def user_conns_key(tenant_id, user_id: int) -> str:
    return tenant_key(tenant_id, "conns", f"u{user_id}")


# Check and take a slot in one step: with a separate ZCARD and ZADD, connections
# opened at the same moment all passed the check (12 admitted under a limit of 10).
REGISTER_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""
_register_script = None


def connection_register(tenant_id, user_id: int, conn_id: str, limit: int) -> bool:
    """Count this connection (a WebSocket or an SSE stream) against the user's
    limit in the tenant; False when over it. The slot lives PRESENCE_TTL_SECONDS
    unless the process's heartbeat refreshes it (presence_refresh_many), so a
    killed process's slots come back by themselves."""
    global _register_script
    if _register_script is None:
        _register_script = redis_client().register_script(REGISTER_LUA)
    now = time.time()
    return bool(
        _register_script(
            keys=[user_conns_key(tenant_id, user_id)], args=[now, now + _ttl(), conn_id, limit, _ttl() * 2]
        )
    )


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


def where_key(tenant_id) -> str:
    return tenant_key(tenant_id, "presence", "where")


def _where_places_key(tenant_id) -> str:
    return tenant_key(tenant_id, "presence", "where", "places")


def _where_live(client, tenant_id, now: float) -> set[tuple[int, str]]:
    """(user, place as JSON) of every live entry of the tenant's where set."""
    members = client.zrangebyscore(where_key(tenant_id), now, "+inf")
    places = client.hmget(_where_places_key(tenant_id), members) if members else []
    return {(int(m.split(b":")[0]), p.decode()) for m, p in zip(members, places, strict=True) if p is not None}


def _place(where: dict[str, Any]) -> str:
    return json.dumps(where, sort_keys=True, separators=(",", ":"), default=str)


def presence_where_enter(tenant_id, user_id: int, conn_id: str, where: dict[str, Any]) -> None:
    """The connection is at `where` (JSON) until presence_where_leave, or its process stops refreshing it."""
    client, now, member, place = redis_client(), time.time(), f"{user_id}:{conn_id}", _place(where)
    already = (user_id, place) in _where_live(client, tenant_id, now)
    pipe = client.pipeline(transaction=False)
    pipe.hset(_where_places_key(tenant_id), member, place)
    pipe.zadd(where_key(tenant_id), {member: now + _ttl()})
    for key in (where_key(tenant_id), _where_places_key(tenant_id)):
        pipe.expire(key, _ttl() * 2)
    pipe.execute()
    if not already:
        event_append(tenant_id, "tenant", "presence.enter", {"user": user_id, "where": where})


def presence_where_leave(tenant_id, user_id: int, conn_id: str) -> None:
    client, member = redis_client(), f"{user_id}:{conn_id}"
    place = client.hget(_where_places_key(tenant_id), member)
    client.zrem(where_key(tenant_id), member)
    client.hdel(_where_places_key(tenant_id), member)
    if place is not None and (user_id, place.decode()) not in _where_live(client, tenant_id, time.time()):
        event_append(tenant_id, "tenant", "presence.exit", {"user": user_id, "where": json.loads(place)})


def presence_where_list(tenant_id) -> list[dict[str, Any]]:
    """The tenant's presence: `[{"user": id, "where": {…}}]`, once per user and place, by user."""
    live = _where_live(redis_client(), tenant_id, time.time())
    return [{"user": user, "where": json.loads(place)} for user, place in sorted(live)]


def _where_sweep(client, tenant_id, now: float) -> None:
    expired = client.zrangebyscore(where_key(tenant_id), "-inf", now)
    if not expired:
        return
    places = client.hmget(_where_places_key(tenant_id), expired)
    client.zrem(where_key(tenant_id), *expired)
    client.hdel(_where_places_key(tenant_id), *expired)
    live = _where_live(client, tenant_id, now)
    gone = {(int(m.split(b":")[0]), p.decode()) for m, p in zip(expired, places, strict=True) if p is not None}
    for user, place in sorted(gone - live):
        event_append(tenant_id, "tenant", "presence.exit", {"user": user, "where": json.loads(place)})


class Entry(NamedTuple):
    """One live connection, as the heartbeat refreshes it (`where`: it is in the tenant's where set)."""

    tenant_id: str
    user_id: int
    conn_id: str
    room_ids: list[int]
    where: bool = False


def presence_refresh_many(entries: list[Entry]) -> None:
    """Heartbeat of a whole server process: extend every connection's entries
    in one pipeline, then sweep each room once for expired entries (announcing
    the leave of users whose process died)."""
    client, now = redis_client(), time.time()
    expiry, keep = now + _ttl(), _ttl() * 2
    rooms: set[tuple[str, int]] = set()
    wheres: set[str] = set()
    pipe = client.pipeline(transaction=False)
    for tenant_id, user_id, conn_id, room_ids, where in entries:
        pipe.zadd(user_conns_key(tenant_id, user_id), {conn_id: expiry})
        pipe.expire(user_conns_key(tenant_id, user_id), keep)
        for room_id in room_ids:
            pipe.zadd(room_key(tenant_id, room_id), {f"{user_id}:{conn_id}": expiry})
            rooms.add((tenant_id, room_id))
        if where:
            pipe.zadd(where_key(tenant_id), {f"{user_id}:{conn_id}": expiry}, xx=True)  # never re-adds a left one
            wheres.add(tenant_id)
    for tenant_id, room_id in rooms:
        pipe.expire(room_key(tenant_id, room_id), keep)
    for tenant_id in wheres:
        pipe.expire(where_key(tenant_id), keep)
        pipe.expire(_where_places_key(tenant_id), keep)
    pipe.execute()
    for tenant_id, room_id in rooms:
        _room_sweep(client, tenant_id, room_id, now)
    for tenant_id in wheres:
        _where_sweep(client, tenant_id, now)


def _room_sweep(client, tenant_id, room_id: int, now: float) -> None:
    key = room_key(tenant_id, room_id)
    expired = client.zrangebyscore(key, "-inf", now)
    if not expired:
        return
    client.zrem(key, *expired)
    live = _live_users(client, key, now)
    for gone in {int(m.split(b":")[0]) for m in expired} - live:
        event_append(tenant_id, f"room:{room_id}", "presence.leave", {"room": room_id, "user": gone})


def presence_list(tenant_id, room_id: int) -> list[int]:
    return sorted(_live_users(redis_client(), room_key(tenant_id, room_id), time.time()))
