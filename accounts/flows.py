"""Account flows: password reset and change, email verification, credential revocation.

Each emits its domain event (accounts/domain_events.py) inside its transaction; emails and
realtime react (their subscribers.py). Requests that email a link answer the same whether
or not the address has an account, and spend the credential limits either way.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.domain_events import emit
from common.errors import ApplicationError, Conflict
from common.localcache import invalidate

from .credential_limits import emailed_link_attempt
from .domain_events import (
    CredentialRevoked,
    EmailChanged,
    EmailChangeRequested,
    EmailVerificationRequested,
    EmailVerified,
    PasswordChanged,
    PasswordResetRequested,
)
from .link_tokens import email_verification_token_read, password_reset_token_user
from .models import AuthToken, User
from .selectors import token_cache_key
from .services import session_credential, token_credential


class WrongPassword(ApplicationError):
    status, code, message = 400, "wrong_password", "The current password is wrong."


def password_validate(password: str, *, user: User, field: str = "password") -> None:
    """Django's AUTH_PASSWORD_VALIDATORS, as 400 validation_error with details[field]."""
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ApplicationError("Invalid input.", code="validation_error", details={field: list(exc.messages)}) from exc


def password_confirm(*, user: User, password: str, request=None, error: type[ApplicationError] = WrongPassword):
    """Raise `error` unless `password` is `user`'s. Goes through authenticate(), so the login
    credential limits hold (a stolen token cannot be used to guess the password)."""
    if authenticate(request, username=user.email, password=password or "") != user:
        raise error()


def user_credentials_revoke(
    *, user: User, keep_token_id: int | None = None, keep_session_key: str | None = None
) -> int:
    """Revoke every live bearer token and delete every session of `user` but the ones to keep;
    each is announced as CredentialRevoked (realtime closes its sockets). Returns how many.
    Sessions are found by decoding the unexpired ones (the db session backend has no user index)."""
    now = timezone.now()
    tokens = list(AuthToken.objects.filter(user=user, revoked_at__isnull=True).exclude(pk=keep_token_id))
    AuthToken.objects.filter(pk__in=[t.pk for t in tokens]).update(revoked_at=now)
    credentials = [token_credential(t.pk) for t in tokens]
    for token in tokens:
        invalidate(token_cache_key(token.digest))
    sessions = [
        s.session_key
        for s in Session.objects.filter(expire_date__gt=now).exclude(session_key=keep_session_key or "").iterator()
        if s.get_decoded().get("_auth_user_id") == str(user.pk)
    ]
    Session.objects.filter(session_key__in=sessions).delete()
    credentials += [session_credential(key) for key in sessions]
    for credential in credentials:
        emit(CredentialRevoked(user_id=user.pk, credential=credential, reason="password_changed"))
    return len(credentials)


def password_reset_request(*, email: str, ip: str | None) -> None:
    """Email a reset link to `email` if it is an active account; otherwise nothing. The caller
    answers the same either way (no enumeration); the limits are spent either way."""
    email = User.objects.normalize_email(email).lower()
    emailed_link_attempt(kind="reset", email=email, ip=ip)
    user = User.objects.filter(email=email, is_active=True).first()
    # `.invalid` can never receive mail (RFC 2606): API keys' service accounts live there, and no
    # reset may give one a password.
    if user is not None and not email.endswith(".invalid"):
        with transaction.atomic():
            emit(PasswordResetRequested(user_id=user.pk))  # its email job commits with it


@transaction.atomic
def password_reset_confirm(*, token: str, password: str) -> User:
    """Set the password of the token's user (which makes the token used), then revoke every
    token, session and socket of theirs. 400 token_invalid / token_expired / validation_error.
    Following the link proves the address too: the account becomes verified."""
    user = password_reset_token_user(token)
    password_validate(password, user=user)
    user.set_password(password)
    user.email_verified = True
    user.save(update_fields=["password", "email_verified"])
    user_credentials_revoke(user=user)
    emit(PasswordChanged(user_id=user.pk, via="reset"))
    return user


@transaction.atomic
def password_change(
    *,
    user: User,
    current: str,
    new: str,
    request=None,
    keep_token_id: int | None = None,
    keep_session_key: str | None = None,
) -> None:
    """The signed-in user sets a new password: `current` checked (400 wrong_password, within
    the login limits), `new` validated; every other credential of theirs is revoked, the one
    in use (`keep_*`) stays."""
    password_confirm(user=user, password=current, request=request)
    password_validate(new, user=user, field="new")
    user.set_password(new)
    user.save(update_fields=["password"])
    user_credentials_revoke(user=user, keep_token_id=keep_token_id, keep_session_key=keep_session_key)
    emit(PasswordChanged(user_id=user.pk, via="change"))


@transaction.atomic
def email_verify(*, token: str) -> User:
    """Mark the token's user verified (idempotent while the token lives), or apply the email
    change it proves (once: the token named the old address); 400 token_invalid / token_expired,
    409 email_taken if the new address got an account meanwhile."""
    user, new_email = email_verification_token_read(token)
    if new_email:
        return _email_change_apply(user=user, new_email=new_email)
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])  # a save: every process drops its cached copy (signals)
        emit(EmailVerified(user_id=user.pk, email=user.email))
    return user


def email_verification_resend(*, user: User, ip: str | None) -> None:
    """Email `user` a new verification link (nothing if already verified); within the limits."""
    emailed_link_attempt(kind="verify", email=user.email, ip=ip)
    if not user.email_verified:
        with transaction.atomic():
            emit(EmailVerificationRequested(user_id=user.pk))


def email_change_request(*, user: User, email: str, password: str, request=None, ip: str | None = None) -> str:
    """Send a link to `email` that makes it the account's address once followed; until then the
    old one stays. The password confirms (400 wrong_password, the login limits). An address that
    already has an account gets nothing, and the answer is the same (no enumeration); the change
    would fail with 409 email_taken anyway. Returns the normalised address."""
    email = User.objects.normalize_email(email).lower()
    password_confirm(user=user, password=password, request=request)
    if email == user.email:
        raise ApplicationError("Invalid input.", code="validation_error", details={"email": ["This is your address."]})
    emailed_link_attempt(kind="verify", email=email, ip=ip)
    if not User.objects.filter(email=email).exists():
        with transaction.atomic():
            emit(EmailChangeRequested(user_id=user.pk, new_email=email))
    return email


def _email_change_apply(*, user: User, new_email: str) -> User:
    taken = Conflict("A user with this email already exists.", code="email_taken", details={"email": new_email})
    if User.objects.filter(email=new_email).exclude(pk=user.pk).exists():
        raise taken
    old_email = user.email
    user.email, user.email_verified = new_email, True
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified"])  # a save: cached copies dropped (signals)
    except IntegrityError as exc:  # taken by a concurrent signup
        raise taken from exc
    emit(EmailChanged(user_id=user.pk, old_email=old_email, new_email=new_email))
    return user
