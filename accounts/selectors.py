from __future__ import annotations

from django.utils import timezone

from common.errors import ApplicationError

from .models import AuthToken
from .tokens import token_digest


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
    if token.expires_at <= timezone.now():
        raise TokenExpired()
    return token
