"""Live connections (sockets and SSE streams) end when access to what they show ends:
from the accounts and tenants apps' domain events, after their transaction commits."""

from __future__ import annotations

from accounts.domain_events import CredentialRevoked, UserDeactivated, UserDeleted
from common.actors import Actor
from common.domain_events import subscribe
from tenants.domain_events import MemberRemoved, TenantDeletionRequested, TenantSettingsChanged, TenantSuspended
from tenants.models import Membership

from .engine.control import connections_close_for_credential, connections_close_for_tenant, connections_close_for_user


@subscribe(TenantSuspended)
def _tenant_suspended(event: TenantSuspended, actor: Actor | None) -> None:
    connections_close_for_tenant(tenant_id=event.tenant_id, reason="tenant_suspended")


@subscribe(TenantDeletionRequested)
def _tenant_deletion_requested(event: TenantDeletionRequested, actor: Actor | None) -> None:
    connections_close_for_tenant(tenant_id=event.tenant_id, reason="tenant_pending_deletion")


@subscribe(TenantSettingsChanged)
def _realtime_switched_off(event: TenantSettingsChanged, actor: Actor | None) -> None:
    if event.feature_switched_off("realtime"):
        connections_close_for_tenant(tenant_id=event.tenant_id, reason="feature_disabled")


@subscribe(MemberRemoved)
def _member_removed(event: MemberRemoved, actor: Actor | None) -> None:
    connections_close_for_user(tenant_id=event.tenant_id, user_id=event.user_id, reason="not_a_member")


@subscribe(CredentialRevoked)
def _credential_revoked(event: CredentialRevoked, actor: Actor | None) -> None:
    connections_close_for_credential(credential=event.credential)


def _user_connections_close(user_id: int, reason: str) -> None:
    for tenant_id in Membership.objects.filter(user_id=user_id).values_list("tenant_id", flat=True):
        connections_close_for_user(tenant_id=tenant_id, user_id=user_id, reason=reason)


@subscribe(UserDeactivated, within_transaction=True)
def _user_deactivated(event: UserDeactivated, actor: Actor | None) -> None:
    """Within the transaction, like a deletion: the same transaction may remove the memberships
    next (an offboarding), and they say which tenants' connections to close; the closes
    themselves still wait for the commit."""
    _user_connections_close(event.user_id, "user_deactivated")


@subscribe(UserDeleted, within_transaction=True)
def _user_deleted(event: UserDeleted, actor: Actor | None) -> None:
    """Within the deleting transaction, because the memberships that say which tenants'
    connections to close are gone once it commits; the closes themselves still wait for
    the commit (connections_close_for_user defers them)."""
    _user_connections_close(event.user_id, "user_deleted")
