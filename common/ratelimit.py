"""An atomic sliding-window counter in Redis: the one primitive behind the API throttles.

DRF's SimpleRateThrottle reads a key's whole history from the cache, appends and writes it
back: concurrent requests (each in its own thread under ASGI) overwrite each other's
timestamps, so a shared budget — a tenant's `rate_limit_per_minute` — let about 40 % more
through under load than it allows. Here check-and-take is one Lua script.
"""

from __future__ import annotations

import itertools
import math
import os
import secrets

from .redis_client import redis_client

# Several windows at once (a request counts against its user's and its tenant's): a slot is
# taken in every window or, if any is full, in none. ARGV: window (ms) and limit per key,
# then a unique member. Returns 0, or the ms until the fullest window has room.
_TAKE_ALL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
  local window, limit = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now, 1)
  end
end
if wait > 0 then return wait end
local member = ARGV[2 * #KEYS + 1]
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i - 1]))
end
return 0
"""
_scripts: dict[str, object] = {}
_PROCESS_TAG = secrets.token_hex(4)
_sequence = itertools.count()


def _member() -> str:
    """A name for this request's entry, unique across processes and threads without a
    system call per request (the pid tells forked children apart)."""
    return f"{os.getpid()}.{_PROCESS_TAG}.{next(_sequence)}"


def _script(source: str):
    """The script registered once per process: later calls send its SHA, not its text."""
    if source not in _scripts:
        _scripts[source] = redis_client().register_script(source)
    return _scripts[source]


def window_take(key: str, *, limit: int, window_seconds: float) -> float:
    """Take a slot in `key`'s window of `limit` per `window_seconds`: 0 if taken, else the
    seconds to wait (> 0)."""
    return windows_take([(key, limit, window_seconds)])


def windows_take(windows: list[tuple[str, int, float]]) -> float:
    """Take a slot in each (key, limit, window_seconds), all or none, in one round trip:
    0 if taken, else the seconds until every window has room."""
    if not windows:
        return 0.0
    closed = [seconds for _, limit, seconds in windows if limit <= 0]
    if closed:
        return max(closed)
    args: list = []
    for _, limit, seconds in windows:
        args += [int(seconds * 1000), limit]
    wait_ms = _script(_TAKE_ALL)(keys=[key for key, _, _ in windows], args=[*args, _member()])
    return int(wait_ms) / 1000


def retry_after_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))
