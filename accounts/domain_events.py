"""What the accounts app announces (common/domain_events.py); higher apps react.

accounts sits below every app that cares (emails sends the signup emails, realtime
closes connections), so it names what happened and never imports who reacts."""

from __future__ import annotations

from typing import Literal

from common.domain_events import DomainEvent, domain_event


@domain_event("user.signup_requested")
class SignupRequested(DomainEvent):
    """Someone asked for an account with `email`. `user_id`: the account just made (emitted
    inside its transaction), or None when the address already had one (after the attempt)."""

    email: str
    user_id: int | None = None


@domain_event("credential.revoked")
class CredentialRevoked(DomainEvent):
    """A token or session can no longer be used: revoked (API or admin), deleted, or its
    session logged out, or all of a user's on a password change. `credential`: how live connections opened with it are named
    (accounts.services.token_credential / session_credential), never the secret."""

    user_id: int | None
    credential: str
    reason: Literal["revoked", "deleted", "logged_out", "password_changed"]


@domain_event("user.deactivated")
class UserDeactivated(DomainEvent):
    """A user was saved with is_active False (the admin, the shell); emitted on every such save."""

    user_id: int


@domain_event("user.deleted")
class UserDeleted(DomainEvent):
    """A user is being deleted (emitted before the rows go, in the deleting transaction:
    a within-transaction subscriber still sees their memberships)."""

    user_id: int
    email: str


@domain_event("user.password_reset_requested")
class PasswordResetRequested(DomainEvent):
    """An active account asked for a reset link (never emitted for an unknown address)."""

    user_id: int


@domain_event("user.password_changed")
class PasswordChanged(DomainEvent):
    """The password was set: by a reset link (`reset`: every credential revoked) or by the
    signed-in user (`change`: every credential but the one in use revoked)."""

    user_id: int
    via: Literal["reset", "change"]


@domain_event("user.email_verification_requested")
class EmailVerificationRequested(DomainEvent):
    """Send `user_id` a link proving they read their address (POST /api/auth/verify-email/resend).
    A new signup's link travels in its account_created email instead (SignupRequested)."""

    user_id: int


@domain_event("user.email_verified")
class EmailVerified(DomainEvent):
    user_id: int
    email: str


@domain_event("user.email_change_requested")
class EmailChangeRequested(DomainEvent):
    """`user_id` asked to use `new_email`; it takes effect once a link sent there is followed."""

    user_id: int
    new_email: str


@domain_event("user.email_changed")
class EmailChanged(DomainEvent):
    """The new address was proven and is now the account's (and verified)."""

    user_id: int
    old_email: str
    new_email: str
