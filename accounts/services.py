"""Writes for users and tokens."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import ApplicationError, Conflict

from .models import AuthToken, User
from .tokens import token_digest, token_generate


class InvalidCredentials(ApplicationError):
    status, code, message = 401, "invalid_credentials", "Email or password is wrong."


def user_signup(*, email: str, password: str) -> User:
    email = User.objects.normalize_email(email).lower()
    try:
        validate_password(password, user=User(email=email))
    except DjangoValidationError as exc:
        raise ApplicationError("Invalid input.", code="validation_error",
                               details={"password": list(exc.messages)}) from exc
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password)
    except IntegrityError as exc:
        raise Conflict("A user with this email already exists.", code="email_taken",
                       details={"email": email}) from exc


def token_issue(*, email: str, password: str, tenant=None, request=None) -> tuple[AuthToken, str]:
    """Check the credentials and issue a token; returns (token, raw secret).

    With `tenant`, the token is bound to it: the caller must be a member.
    """
    user = authenticate(request, username=email.lower(), password=password)
    if user is None:
        raise InvalidCredentials()
    if tenant is not None:
        from tenants.selectors import membership_role

        if membership_role(tenant=tenant, user=user) is None:
            raise ApplicationError("You are not a member of this tenant.", code="not_a_member", status=403)
    raw = token_generate()
    token = AuthToken.objects.create(
        user=user,
        tenant=tenant,
        digest=token_digest(raw),
        prefix=raw[:10],
        expires_at=timezone.now() + timedelta(seconds=settings.AUTH_TOKEN_TTL_SECONDS),
    )
    return token, raw


def token_revoke(*, token: AuthToken) -> None:
    """Revoke the token; sockets opened with a ticket it issued close too."""
    from realtime.services import connections_close_for_credential

    AuthToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    connections_close_for_credential(credential=f"k{token.pk}")


def session_credential(session_key: str) -> str:
    """How live connections opened with a session are named (never the key itself)."""
    return "s" + hashlib.sha256(session_key.encode()).hexdigest()[:24]
