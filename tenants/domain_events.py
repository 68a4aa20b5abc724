"""What the tenants app announces (common/domain_events.py): tenants, members, domains.

tenants/services.py emits these inside the write's transaction; the audit log
(tenants/subscribers.py), realtime, jobs and emails react in their own subscribers.
Ids are strings (a tenant's UUID) or ints (a user's id); `actor_id` is the acting user
(None: system work)."""

from __future__ import annotations

from typing import Any

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
