"""What the tenants app announces (common/domain_events.py): tenants, members, domains.

tenants/services.py emits these inside the write's transaction; the audit log
(tenants/subscribers.py), realtime, jobs and emails react in their own subscribers.
Ids are strings (a tenant's UUID) or ints (a user's id); `actor_id` is the acting user
(None: system work)."""

from __future__ import annotations

from typing import Any

from pydantic import PrivateAttr

from common.domain_events import DomainEvent, domain_event


class TenantEvent(DomainEvent):
    tenant_id: str
    actor_id: int | None = None


@domain_event("tenant.created")
class TenantCreated(TenantEvent):
    slug: str
    tenant_name: str
    owner_id: int | None = None
    owner_email: str | None = None


@domain_event("tenant.suspended")
class TenantSuspended(TenantEvent):
    previous_status: str


@domain_event("tenant.reactivated")
class TenantReactivated(TenantEvent):
    previous_status: str


@domain_event("tenant.settings_changed")
class TenantSettingsChanged(TenantEvent):
    """The effective settings' top-level keys that changed, each side's value (a change
    inside `features` carries both whole `features` objects). Emitted on every update,
    even one that changed nothing (both empty)."""

    before: dict[str, Any]
    after: dict[str, Any]

    def feature_switched_off(self, feature: str) -> bool:
        if "features" not in self.after:
            return False
        return bool(self.before["features"].get(feature)) and not self.after["features"].get(feature)


@domain_event("member.added")
class MemberAdded(TenantEvent):
    user_id: int
    email: str
    role: str


@domain_event("member.removed")
class MemberRemoved(TenantEvent):
    """`left`: the member removed themselves."""

    user_id: int
    email: str
    role: str
    left: bool = False


@domain_event("member.role_changed")
class MemberRoleChanged(TenantEvent):
    user_id: int
    previous_role: str
    role: str


@domain_event("domain.added")
class DomainAdded(TenantEvent):
    domain: str


@domain_event("domain.removed")
class DomainRemoved(TenantEvent):
    domain: str


@domain_event("domain.changed")
class DomainChanged(TenantEvent):
    previous_domain: str
    domain: str


@domain_event("api_key.created")
class ApiKeyCreated(TenantEvent):
    """A key was minted (tenants/api_keys.py); `user_id`: its service account."""

    key_id: str
    key_name: str
    prefix: str
    role: str
    user_id: int
    expires_at: str | None = None


@domain_event("api_key.revoked")
class ApiKeyRevoked(TenantEvent):
    """A key was revoked: its token is dead (credential.revoked closed its sockets), its membership gone."""

    key_id: str
    key_name: str
    prefix: str
    role: str
    user_id: int


class InvitationEvent(TenantEvent):
    """An invitation (tenants/invitations.py). Its link's token is never in the payload (webhooks and
    the audit log see `model_dump()`)."""

    invitation_id: str
    email: str
    role: str


class InvitationSent(InvitationEvent):
    """The raw link token rides beside the payload, in a private attribute (`link_token`): not a field,
    so not dumped, not in the JSON schema, not in repr. Only the emails subscriber reads it."""

    expires_at: str
    send_count: int
    _link_token: str = PrivateAttr(default="")

    @classmethod
    def with_link_token(cls, link_token: str, **fields):
        event = cls(**fields)
        event._link_token = link_token
        return event

    @property
    def link_token(self) -> str:
        return self._link_token


@domain_event("invitation.created")
class InvitationCreated(InvitationSent):
    pass


@domain_event("invitation.resent")
class InvitationResent(InvitationSent):
    """A new link replaced the previous one (which no longer opens anything)."""


@domain_event("invitation.revoked")
class InvitationRevoked(InvitationEvent):
    pass


@domain_event("invitation.accepted")
class InvitationAccepted(InvitationEvent):
    """`account_created`: the invitee had no account and made one by accepting."""

    user_id: int
    account_created: bool = False


@domain_event("tenant.deletion_requested")
class TenantDeletionRequested(TenantEvent):
    """The tenant is pending deletion until `deletion_due_at` (then lifecycle purges it);
    `previous_status` is what a restore returns it to."""

    slug: str
    previous_status: str
    deletion_due_at: str


@domain_event("tenant.deletion_expedited")
class TenantDeletionExpedited(TenantEvent):
    """An operator asked for the purge now (the admin's "Delete now"): its due time is now."""

    slug: str


@domain_event("tenant.deletion_cancelled")
class TenantDeletionCancelled(TenantEvent):
    """Restored within the grace period, to `status` (active, or suspended if it was)."""

    slug: str
    status: str
