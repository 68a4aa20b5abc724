"""The audit log, written from the tenants app's domain events (within the emitting
transaction: a change and its audit row commit or roll back together).

Action names, targets and before/after are the audit log's public shape
(GET /api/tenants/<id>/audit): keep them as they are."""

from __future__ import annotations

from accounts.domain_events import UserDeleted
from common.actors import SYSTEM, Actor
from common.domain_events import subscribe

from .audit import audit_record
from .domain_events import (
    ApiKeyCreated,
    ApiKeyRevoked,
    DomainAdded,
    DomainChanged,
    DomainRemoved,
    InvitationAccepted,
    InvitationCreated,
    InvitationResent,
    InvitationRevoked,
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    TenantCreated,
    TenantDeletionCancelled,
    TenantDeletionExpedited,
    TenantDeletionRequested,
    TenantEvent,
    TenantReactivated,
    TenantSettingsChanged,
    TenantSuspended,
)
from .models import Tenant


def _record(event: TenantEvent, actor: Actor | None, action: str, target: str, **sides) -> None:
    audit_record(
        tenant=Tenant.objects.get(pk=event.tenant_id), actor=actor or SYSTEM, action=action, target=target, **sides
    )


@subscribe(TenantCreated, within_transaction=True)
def _tenant_created(event: TenantCreated, actor: Actor | None) -> None:
    tenant = Tenant.objects.get(pk=event.tenant_id)
    audit_record(
        tenant=tenant,
        actor=actor or SYSTEM,
        action="tenant.create",
        target=f"tenant:{event.tenant_id}",
        after={"slug": tenant.slug, "name": tenant.name, "status": tenant.status, "owner": event.owner_email},
    )


@subscribe(TenantSuspended, within_transaction=True)
def _tenant_suspended(event: TenantSuspended, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "tenant.suspend",
        f"tenant:{event.tenant_id}",
        before={"status": event.previous_status},
        after={"status": Tenant.Status.SUSPENDED},
    )


@subscribe(TenantReactivated, within_transaction=True)
def _tenant_reactivated(event: TenantReactivated, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "tenant.reactivate",
        f"tenant:{event.tenant_id}",
        before={"status": event.previous_status},
        after={"status": Tenant.Status.ACTIVE},
    )


@subscribe(TenantSettingsChanged, within_transaction=True)
def _tenant_settings_changed(event: TenantSettingsChanged, actor: Actor | None) -> None:
    _record(event, actor, "tenant.settings_update", f"tenant:{event.tenant_id}", before=event.before, after=event.after)


@subscribe(MemberAdded, within_transaction=True)
def _member_added(event: MemberAdded, actor: Actor | None) -> None:
    _record(event, actor, "member.add", f"user:{event.user_id}", after={"email": event.email, "role": event.role})


@subscribe(MemberRoleChanged, within_transaction=True)
def _member_role_changed(event: MemberRoleChanged, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "member.role_change",
        f"user:{event.user_id}",
        before={"role": event.previous_role},
        after={"role": event.role},
    )


@subscribe(MemberRemoved, within_transaction=True)
def _member_removed(event: MemberRemoved, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "member.leave" if event.left else "member.remove",
        f"user:{event.user_id}",
        before={"email": event.email, "role": event.role},
    )


@subscribe(DomainAdded, within_transaction=True)
def _domain_added(event: DomainAdded, actor: Actor | None) -> None:
    _record(event, actor, "domain.add", f"domain:{event.domain}", after={"domain": event.domain})


@subscribe(DomainRemoved, within_transaction=True)
def _domain_removed(event: DomainRemoved, actor: Actor | None) -> None:
    _record(event, actor, "domain.remove", f"domain:{event.domain}", before={"domain": event.domain})


@subscribe(DomainChanged, within_transaction=True)
def _domain_changed(event: DomainChanged, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "domain.change",
        f"domain:{event.domain}",
        before={"domain": event.previous_domain},
        after={"domain": event.domain},
    )


@subscribe(ApiKeyCreated, within_transaction=True)
def _api_key_created(event: ApiKeyCreated, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "api_key.create",
        f"api_key:{event.key_id}",
        after={"name": event.key_name, "prefix": event.prefix, "role": event.role, "expires_at": event.expires_at},
    )


@subscribe(ApiKeyRevoked, within_transaction=True)
def _api_key_revoked(event: ApiKeyRevoked, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "api_key.revoke",
        f"api_key:{event.key_id}",
        before={"name": event.key_name, "prefix": event.prefix, "role": event.role},
    )


@subscribe(InvitationCreated, within_transaction=True)
def _invitation_created(event: InvitationCreated, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "invitation.create",
        f"invitation:{event.invitation_id}",
        after={"email": event.email, "role": event.role, "expires_at": event.expires_at},
    )


@subscribe(InvitationResent, within_transaction=True)
def _invitation_resent(event: InvitationResent, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "invitation.resend",
        f"invitation:{event.invitation_id}",
        after={"email": event.email, "send_count": event.send_count, "expires_at": event.expires_at},
    )


@subscribe(InvitationRevoked, within_transaction=True)
def _invitation_revoked(event: InvitationRevoked, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "invitation.revoke",
        f"invitation:{event.invitation_id}",
        before={"email": event.email, "role": event.role},
    )


@subscribe(InvitationAccepted, within_transaction=True)
def _invitation_accepted(event: InvitationAccepted, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "invitation.accept",
        f"invitation:{event.invitation_id}",
        after={
            "email": event.email,
            "role": event.role,
            "user_id": event.user_id,
            "account_created": event.account_created,
        },
    )


@subscribe(TenantDeletionRequested, within_transaction=True)
def _tenant_deletion_requested(event: TenantDeletionRequested, actor: Actor | None) -> None:
    """`before.status` is what a restore returns the tenant to (tenants.services._status_before_deletion)."""
    _record(
        event,
        actor,
        "tenant.deletion_request",
        f"tenant:{event.tenant_id}",
        before={"status": event.previous_status},
        after={"status": Tenant.Status.PENDING_DELETION, "deletion_due_at": event.deletion_due_at},
    )


@subscribe(TenantDeletionExpedited, within_transaction=True)
def _tenant_deletion_expedited(event: TenantDeletionExpedited, actor: Actor | None) -> None:
    _record(event, actor, "tenant.deletion_expedite", f"tenant:{event.tenant_id}")


@subscribe(TenantDeletionCancelled, within_transaction=True)
def _tenant_deletion_cancelled(event: TenantDeletionCancelled, actor: Actor | None) -> None:
    _record(
        event,
        actor,
        "tenant.deletion_cancel",
        f"tenant:{event.tenant_id}",
        before={"status": Tenant.Status.PENDING_DELETION},
        after={"status": event.status},
    )


# --- not the audit log: what a deleted account leaves behind ------------------------


@subscribe(UserDeleted, within_transaction=True)
def _inviter_deleted(event: UserDeleted, actor: Actor | None) -> None:
    """Their pending invitations die with them (each audited as the system's `invitation.revoke`)."""
    from .invitations import invitations_of_inviter_revoke

    invitations_of_inviter_revoke(user_id=event.user_id)
