"""The per-tenant event log, which is also how events are published.

Every event is appended to its tenant's Redis stream (one Lua script: append,
trim, remember the trim point). Server processes follow the streams
themselves (realtime.engine.hub), so the order in which subscribers receive events
is the order of their ids: a client that has seen id N has seen every earlier
event of its channels, and resuming "after N" from the log loses nothing and
repeats nothing.

The frame body is serialised once, here, and sent as-is to every socket (no
per-subscriber JSON encoding). The log keeps at least
REALTIME["EVENT_RETENTION_SECONDS"] of events (MINID trimming), with a hard
cap of EVENT_LOG_MAX entries per tenant against floods.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from django.conf import settings

from common.redis_client import redis_client

from .channel_names import stream_key, trimmed_key

PUBLISH_LUA = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local id
if ARGV[3] == '' then
  id = redis.call('XADD', KEYS[1], '*', 'c', ARGV[1], 'b', ARGV[2])
else
  id = redis.call('XADD', KEYS[1], '*', 'c', ARGV[1], 'b', ARGV[2], 'x', ARGV[3])
end
local trimmed = redis.call('XTRIM', KEYS[1], 'MINID', '~', tostring(now_ms - tonumber(ARGV[5])))
trimmed = trimmed + redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[4])
local ttl = tonumber(ARGV[5]) * 4
if trimmed > 0 then
  -- everything older than the first kept entry may be gone: remember where that is
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  redis.call('SET', KEYS[2], first[1][1], 'PX', ttl)
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return id
"""

_script = None


def _publish_script():
    global _script
    if _script is None:
        _script = redis_client().register_script(PUBLISH_LUA)
    return _script


def frame_body(channel: str, event: str, data: dict, ts: float | None = None) -> str:
    """The event frame without its id (the log assigns it)."""
    return json.dumps(
        {"channel": channel, "event": event, "data": data, "ts": round(ts if ts is not None else time.time(), 3)},
        separators=(",", ":"),
        default=str,
    )


def frame_with_id(event_id: str, body: str) -> str:
    return '{"type":"event","id":"' + event_id + '",' + body[1:]


def event_append(tenant_id, channel: str, event: str, data: dict, *, exclude: str = "") -> str:
    """Log (and so publish) one event; returns its id (e.g. "1732400000000-0").
    `exclude` names a connection that must not receive it (the chat sender)."""
    conf = settings.REALTIME
    result = _publish_script()(
        keys=[stream_key(tenant_id), trimmed_key(tenant_id)],
        args=[
            channel,
            frame_body(channel, event, data),
            exclude or "",
            conf["EVENT_LOG_MAX"],
            conf["EVENT_RETENTION_SECONDS"] * 1000,
        ],
    )
    return result.decode() if isinstance(result, bytes) else result


EVENT_ID_RE = re.compile(r"^([0-9]{1,20})-([0-9]{1,20})$")
ID_PART_MAX = 2**64 - 1  # each half of a Redis stream id is an unsigned 64-bit number


def id_key(event_id: str) -> tuple[int, int]:
    """Stream ids order as (milliseconds, sequence)."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def is_event_id(value) -> bool:
    """`<ms>-<seq>` in ASCII digits, each part within Redis' range: anything
    else (signs, `_`, spaces, other scripts' digits, 2**64) is refused before
    it reaches Redis, which answers "Invalid stream ID"."""
    match = EVENT_ID_RE.match(value) if isinstance(value, str) else None
    return match is not None and int(match[1]) <= ID_PART_MAX and int(match[2]) <= ID_PART_MAX


@dataclass
class Replay:
    frames: list[tuple[str, str]]  # (id, frame json), in order
    reset: bool  # the client is further behind than the log reaches (or names an id it never issued)
    last_id: str | None  # the newest id in the log (or the given one)


def events_since(tenant_id, last_id: str, channels: set[str], *, limit: int = 10_000) -> Replay:
    """The events after `last_id` on `channels`, in order — or reset=True when
    events after `last_id` may have been trimmed away:

    - the log was trimmed past it (the watermark is the oldest entry kept by
      the last trim that removed something), or
    - it is older than the log's idle expiry (4 × retention): the whole log
      may have expired and been started again since, or
    - it lies in the future, after the newest entry: this log never issued it.
    """
    client = redis_client()
    retention_ms = settings.REALTIME["EVENT_RETENTION_SECONDS"] * 1000
    now_s, now_us = client.time()
    now_ms = now_s * 1000 + now_us // 1000
    watermark = client.get(trimmed_key(tenant_id))
    if id_key(last_id)[0] < now_ms - 4 * retention_ms or (
        watermark is not None and id_key(last_id) < id_key(watermark.decode())
    ):
        return Replay([], True, None)
    if id_key(last_id)[0] > now_ms and _after_newest(client, tenant_id, last_id):
        # Never issued: resuming "after" it would hold back every live event.
        return Replay([], True, None)
    entries = client.xrange(stream_key(tenant_id), min=f"({last_id}", count=limit)
    frames = [
        (entry_id.decode(), frame_with_id(entry_id.decode(), fields[b"b"].decode()))
        for entry_id, fields in entries
        if fields[b"c"].decode() in channels
    ]
    newest = entries[-1][0].decode() if entries else last_id
    return Replay(frames, False, newest)


def _after_newest(client, tenant_id, last_id: str) -> bool:
    newest = client.xrevrange(stream_key(tenant_id), count=1)
    return not newest or id_key(last_id) > id_key(newest[0][0].decode())


def latest_id(tenant_id) -> str:
    """Where a fresh connection stands in the log: the newest id, or — for an
    empty log — a point just before now (every later event has a larger id)."""
    client = redis_client()
    newest = client.xrevrange(stream_key(tenant_id), count=1)
    if newest:
        return newest[0][0].decode()
    now_s, now_us = client.time()
    return f"{now_s * 1000 + now_us // 1000 - 1}-0"
