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

from common.domain_events import emit
from common.errors import ApplicationError, Conflict
from common.localcache import invalidate

from .credential_limits import signup_attempt
from .domain_events import CredentialRevoked, SignupRequested
from .models import AuthToken, User
from .selectors import token_cache_key
from .tokens import token_digest, token_generate


class InvalidCredentials(ApplicationError):
    status, code, message = 401, "invalid_credentials", "Email or password is wrong."


class EmailUnverified(ApplicationError):
    status, code, message = 403, "email_unverified", "Verify your email address first (POST /api/auth/verify-email)."


def email_verified_require(*, user: User, action: str) -> None:
    """403 email_unverified unless `user` is verified or settings.UNVERIFIED_USERS_MAY has
    `action` ("sign_in", "accept_invitations", "create_tenant")."""
    if not user.email_verified and action not in settings.UNVERIFIED_USERS_MAY:
        raise EmailUnverified(details={"action": action})


def user_create(*, email: str, password: str) -> User:
    """An account for `email` (seeds, benchmarks, the shell); 409 email_taken if it exists.
    The public signup is `user_signup`, which never says whether an address is taken."""
    email = User.objects.normalize_email(email).lower()
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password)
    except IntegrityError as exc:
        raise Conflict("A user with this email already exists.", code="email_taken", details={"email": email}) from exc


def user_signup(*, email: str, password: str, ip: str | None = None) -> str:
    """Sign up `email`; returns the normalised address. The caller learns nothing about
    whether it was free: a new address gets its account (and a welcome email), a taken one
    an email saying someone tried (the SignupRequested domain event; emails sends both).
    Both paths hash the password (create_user does, before its INSERT fails), so they take
    as long. The new account's address is unverified until its emailed link is used
    (accounts/flows.py). Each signup spends a credential-limit slot of the address and of the client."""
    email = User.objects.normalize_email(email).lower()
    try:
        validate_password(password, user=User(email=email))
    except DjangoValidationError as exc:
        raise ApplicationError(
            "Invalid input.", code="validation_error", details={"password": list(exc.messages)}
        ) from exc
    signup_attempt(email=email, ip=ip)
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, email_verified=False)
            emit(SignupRequested(email=email, user_id=user.pk))  # its email commits with it
    except IntegrityError:
        emit(SignupRequested(email=email))
    return email


def user_authenticate(*, email: str, password: str, request=None) -> User:
    """The active user with these credentials, else 401 invalid_credentials."""
    user = authenticate(request, username=email.lower(), password=password)
    if user is None:
        raise InvalidCredentials()
    email_verified_require(user=user, action="sign_in")
    return user


def token_create(*, user: User, tenant=None) -> tuple[AuthToken, str]:
    """A new token for `user` (bound to `tenant` when given: the caller checked the membership,
    tenants.services.tenant_token_issue); returns (token, raw secret)."""
    raw = token_generate()
    token = AuthToken.objects.create(
        user=user,
        tenant=tenant,
        digest=token_digest(raw),
        prefix=raw[:10],
        expires_at=timezone.now() + timedelta(seconds=settings.AUTH_TOKEN_TTL_SECONDS),
    )
    return token, raw


def token_issue(*, email: str, password: str, request=None) -> tuple[AuthToken, str]:
    """Check the credentials and issue a token for every tenant of the user; returns
    (token, raw secret). A token bound to one tenant: tenants.services.tenant_token_issue."""
    return token_create(user=user_authenticate(email=email, password=password, request=request))


def token_revoke(*, token: AuthToken) -> None:
    """Revoke the token; announced as CredentialRevoked (realtime closes the sockets
    opened with a ticket it issued)."""
    AuthToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    invalidate(token_cache_key(token.digest))  # every process's cached copy
    emit(CredentialRevoked(user_id=token.user_id, credential=token_credential(token.pk), reason="revoked"))


def session_credential(session_key: str) -> str:
    """How live connections opened with a session are named (never the key itself)."""
    return "s" + hashlib.sha256(session_key.encode()).hexdigest()[:24]


def token_credential(token_id: int) -> str:
    """How live connections opened with a token (or a ticket it issued) are named."""
    return f"k{token_id}"
