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
    session logged out. `credential`: how live connections opened with it are named
    (accounts.services.token_credential / session_credential), never the secret."""

    user_id: int | None
    credential: str
    reason: Literal["revoked", "deleted", "logged_out"]


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
