"""How many password checks one account and one client address may make.

Every credential check takes a slot in two sliding windows, the account's (its email,
hashed) and the client address's (common.proxies: the trusted-proxy rule; an IPv6 /64),
before the password is looked at:

- a login (POST /api/auth/token, the session and admin login forms: all of them go
  through `authenticate()`, accounts/backends.py) that fails keeps its slots; one that
  succeeds gives them back, so only failures count;
- a signup always keeps them (each one sends an email).

A full window answers `429 rate_limited` with `Retry-After`, the right password
included (a locked account cannot be probed). The keys are global, not per tenant:
the platform host and every tenant host spend one budget. Limits: settings.AUTH_LIMITS.
"""
from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass

from django.conf import settings

from common.errors import ApplicationError
from common.proxies import client_network
from common.redis import redis_client

KEY_PREFIX = "auth:limit"  # global on purpose: one budget across every host

# Atomic check-and-take over all windows: when any window is full nothing is taken and
# the answer is how long (ms) until its oldest counted attempt leaves it.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, member = tonumber(ARGV[1]), ARGV[2]
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local limit = tonumber(ARGV[2 + i])
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
end
return 0
"""


class CredentialsRateLimited(ApplicationError):
    status, code, message = 429, "rate_limited", "Too many attempts. Try again later."

    def __init__(self, retry_after: int):
        super().__init__(details={"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


def account_key(email: str) -> str:
    return f"{KEY_PREFIX}:account:" + hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]


def network_key(ip: str | None) -> str:
    return f"{KEY_PREFIX}:ip:{client_network(ip)}"


@dataclass
class CredentialAttempt:
    keys: tuple[str, ...]
    member: str

    def succeeded(self) -> None:
        """The check passed: its slots go back (only failures count)."""
        pipe = redis_client().pipeline(transaction=False)
        for key in self.keys:
            pipe.zrem(key, self.member)
        pipe.execute()


def credential_attempt(*, email: str, ip: str | None) -> CredentialAttempt:
    """Take a slot for one credential check of `email` from `ip`, or raise 429."""
    limits = settings.AUTH_LIMITS
    keys = (account_key(email), network_key(ip))
    member = secrets.token_hex(8)
    wait_ms = redis_client().eval(_TAKE, len(keys), *keys, int(limits["WINDOW_SECONDS"] * 1000), member,
                                  limits["PER_ACCOUNT"], limits["PER_IP"])
    if wait_ms:
        raise CredentialsRateLimited(retry_after=max(1, math.ceil(int(wait_ms) / 1000)))
    return CredentialAttempt(keys, member)
