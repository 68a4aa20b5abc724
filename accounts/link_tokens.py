"""The tokens emailed links carry: password reset and email verification. Nothing is stored.

- Reset: `<uid b64>.<Django PasswordResetTokenGenerator token>`. Its hash covers the password
  hash and last login, so it dies once used (the password changed); it expires after
  settings.PASSWORD_RESET_TIMEOUT. A well-signed but old token is told apart (`token_expired`)
  from a wrong, used or tampered one (`token_invalid`).
- Verification: django.core.signing of {user id, address[, new address]}, max age
  settings.EMAIL_VERIFICATION_TIMEOUT; valid only while the account still has that address. With
  a new address (an email change) it proves the new one, and is used once the change applied.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from common.errors import ApplicationError

from .models import User

VERIFY_SALT = "accounts.email-verification"


class LinkTokenInvalid(ApplicationError):
    status, code, message = 400, "token_invalid", "This link is not valid (wrong, already used or replaced)."


class LinkTokenExpired(ApplicationError):
    status, code, message = 400, "token_expired", "This link has expired; ask for a new one."


class _ResetTokens(PasswordResetTokenGenerator):
    key_salt = "accounts.password-reset"

    def check_age(self, user: User, token: str) -> bool:
        """True if well signed and fresh; False if well signed and old; raises if not ours."""
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError as exc:
            raise LinkTokenInvalid() from exc
        secrets = [self.secret, *self.secret_fallbacks]
        if not any(constant_time_compare(self._make_token_with_timestamp(user, ts, s), token) for s in secrets):
            raise LinkTokenInvalid()
        return self._num_seconds(self._now()) - ts <= settings.PASSWORD_RESET_TIMEOUT


reset_tokens = _ResetTokens()


def password_reset_token_make(user: User) -> str:
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}.{reset_tokens.make_token(user)}"


def password_reset_token_user(token: str) -> User:
    """The active user a reset token is for, or 400 token_invalid / token_expired."""
    uid, _, value = (token or "").partition(".")
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uid))), is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist) as exc:
        raise LinkTokenInvalid() from exc
    if not reset_tokens.check_age(user, value):
        raise LinkTokenExpired()
    return user


def email_verification_token_make(user: User, new_email: str | None = None) -> str:
    data = {"u": user.pk, "e": user.email, **({"n": new_email, "p": _password_mark(user)} if new_email else {})}
    return signing.dumps(data, salt=VERIFY_SALT, compress=True)


def email_verification_token_read(token: str) -> tuple[User, str | None]:
    """(the user, the new address an email change proves, or None) of a verification token
    naming the account's current address; else 400 token_invalid / token_expired."""
    try:
        data = signing.loads(token or "", salt=VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_TIMEOUT)
    except signing.SignatureExpired as exc:
        raise LinkTokenExpired() from exc
    except signing.BadSignature as exc:
        raise LinkTokenInvalid() from exc
    user = User.objects.filter(pk=data.get("u"), email=data.get("e"), is_active=True).first()
    if user is None or (data.get("n") and data.get("p") != _password_mark(user)):
        raise LinkTokenInvalid()  # an email change asked before the password changed (or was reset) is void
    return user, data.get("n")


def _password_mark(user: User) -> str:
    """A short keyed digest of the password hash: changes whenever the password does."""
    return salted_hmac("accounts.email_change", user.password).hexdigest()[:16]
