from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from common.errors import ApplicationError

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


def token_get_valid(raw: str) -> AuthToken:
    """The live token for a raw bearer string, or an error saying why not."""
    token = (
        AuthToken.objects.select_related("user", "tenant")
        .filter(digest=token_digest(raw))
        .first()
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
    return token
