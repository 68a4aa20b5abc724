from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from common.errors import ApplicationError
from common.localcache import LocalCache, generation

from .models import AuthToken
from .tokens import token_digest

# Recording every use would be a write per request; this is precise enough for ops.
LAST_USED_PRECISION = timedelta(minutes=5)


class TokenInvalid(ApplicationError):
    status, code, message = 401, "token_invalid", "The token is not valid."


class TokenExpired(ApplicationError):
    status, code, message = 401, "token_expired", "The token has expired."


class TokenRevoked(ApplicationError):
    status, code, message = 401, "token_revoked", "The token has been revoked."


# Tokens with their user, per process (common/localcache.py): dropped everywhere when the
# token or its user changes (accounts/signals.py, token_revoke). Unknown digests are not
# kept, so random tokens cannot crowd out real ones.
_tokens = LocalCache("token", ttl=60)


def token_cache_key(digest: str) -> str:
    return f"token:{digest}"


def user_cache_tag(user_id) -> str:
    return f"user:{user_id}"


def _token_tags(token: AuthToken | None):
    return None if token is None else (user_cache_tag(token.user_id),)


def token_get_valid(raw: str) -> AuthToken:
    """The live token for a raw bearer string, or an error saying why not."""
    digest = token_digest(raw)
    key = token_cache_key(digest)
    seen = generation()  # before the read: a copy read before a revocation is not put back
    token = _tokens.get_or_load(
        key,
        lambda: AuthToken.objects.select_related("user", "tenant").filter(digest=digest).first(),
        tags=_token_tags,
    )
    if token is None or not token.user.is_active:
        raise TokenInvalid()
    if token.revoked_at is not None:
        raise TokenRevoked()
    now = timezone.now()
    if token.expires_at <= now:
        raise TokenExpired()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        AuthToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        _tokens.put(key, token, tags=_token_tags(token), generation=seen)
    return token
