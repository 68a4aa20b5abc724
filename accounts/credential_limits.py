"""How many password checks one account and one client address may make.

A login (POST /api/auth/token, the session and admin login forms: all of them go through
`authenticate()`, accounts/backends.py) takes a slot in three sliding windows before the
password is looked at: the client address's (common.proxies: the trusted-proxy rule; an
IPv6 /64), the account's (its email, hashed), and the pair's (this account from this
address). A login that succeeds gives its slots back, so only failures count.

- An address over PER_IP failures is refused, whatever account it tries.
- An account over PER_ACCOUNT failures is refused only from an address that has itself
  failed for it in the window. So a guesser cannot lock the owner out: from an address
  that has not failed, the right password still works, while every address that keeps
  guessing is stopped (a distributed guesser gets one try per address per window).

A signup takes the address's slot and one in its own per-email window (SIGNUPS_PER_EMAIL:
each signup sends that address an email); it never touches the login windows, so signing
up with someone's email cannot lock them out. A password-reset request or a verification
resend does the same in its own per-email window (EMAILS_PER_ADDRESS, `emailed_link_attempt`).

A full window answers `429 rate_limited` with `Retry-After`, the right password included
(an address locked for an account cannot probe it). The keys are global, not per tenant:
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
from common.redis_client import redis_client

KEY_PREFIX = "auth:limit"  # global on purpose: one budget across every host

# Atomic check-and-take. KEYS are windows, ARGV[3..] their limits; a limit of 0 on a
# window means "refused when full only if the last KEY (the pair) is not empty". When a
# window refuses nothing is taken and the answer is how long (ms) until its oldest counted
# attempt leaves it.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, member, conditional = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[#ARGV])
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
end
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + i])
  local count = redis.call('ZCARD', key)
  local applies = limit > 0 and (i ~= conditional or redis.call('ZCARD', KEYS[#KEYS]) > 0)
  if applies and count >= limit then
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


def _email_hash(email: str) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]


def account_key(email: str) -> str:
    return f"{KEY_PREFIX}:account:{_email_hash(email)}"


def pair_key(email: str, ip: str | None) -> str:
    return f"{KEY_PREFIX}:pair:{_email_hash(email)}:{client_network(ip)}"


def signup_key(email: str) -> str:
    return f"{KEY_PREFIX}:signup:{_email_hash(email)}"


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


def _take(keys: tuple[str, ...], limits: tuple[int, ...], conditional: int = 0) -> str:
    """One slot in each window (1-based `conditional`: the window that applies only when
    the last one, the pair, is not empty), or raise 429."""
    member = secrets.token_hex(8)
    window_ms = int(settings.AUTH_LIMITS["WINDOW_SECONDS"] * 1000)
    wait_ms = redis_client().eval(_TAKE, len(keys), *keys, window_ms, member, *limits, conditional)
    if wait_ms:
        raise CredentialsRateLimited(retry_after=max(1, math.ceil(int(wait_ms) / 1000)))
    return member


def credential_attempt(*, email: str, ip: str | None) -> CredentialAttempt:
    """Take the slots of one login check of `email` from `ip`, or raise 429."""
    limits = settings.AUTH_LIMITS
    keys = (network_key(ip), account_key(email), pair_key(email, ip))
    member = _take(keys, (limits["PER_IP"], limits["PER_ACCOUNT"], 0), conditional=2)
    return CredentialAttempt(keys, member)


def signup_attempt(*, email: str, ip: str | None) -> None:
    """Take the slots of one signup of `email` from `ip` (kept: each one sends an email), or raise 429."""
    limits = settings.AUTH_LIMITS
    _take((network_key(ip), signup_key(email)), (limits["PER_IP"], limits.get("SIGNUPS_PER_EMAIL", 3)))


def emailed_link_attempt(*, kind: str, email: str, ip: str | None) -> None:
    """Take the slots of one request that may email `email` a link (`kind`: "reset", "verify"):
    the client's and the address's EMAILS_PER_ADDRESS window of that kind, or raise 429.
    Taken whether or not the address has an account, so the limit tells nothing either."""
    limits = settings.AUTH_LIMITS
    keys = (network_key(ip), f"{KEY_PREFIX}:{kind}:{_email_hash(email)}")
    _take(keys, (limits["PER_IP"], limits.get("EMAILS_PER_ADDRESS", 3)))
