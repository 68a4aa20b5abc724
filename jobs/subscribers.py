"""A tenant's jobs follow its status (suspended or pending deletion: held) and clock, from the tenants
app's domain events, within the emitting transaction (the jobs are held exactly when the suspension commits)."""

from __future__ import annotations

from common.actors import Actor
from common.domain_events import subscribe
from tenants.domain_events import (
    TenantDeletionCancelled,
    TenantDeletionRequested,
    TenantReactivated,
    TenantSettingsChanged,
    TenantSuspended,
)
from tenants.models import Tenant

from .schedules import tenant_schedules_reschedule
from .services import tenant_jobs_hold, tenant_jobs_release


@subscribe(TenantSuspended, within_transaction=True)
def _tenant_suspended(event: TenantSuspended, actor: Actor | None) -> None:
    tenant_jobs_hold(tenant=Tenant.objects.get(pk=event.tenant_id))  # they wait (no attempt used) until reactivation


@subscribe(TenantDeletionRequested, within_transaction=True)
def _tenant_deletion_requested(event: TenantDeletionRequested, actor: Actor | None) -> None:
    tenant_jobs_hold(tenant=Tenant.objects.get(pk=event.tenant_id))  # as suspended; the purge deletes them


@subscribe(TenantDeletionCancelled, within_transaction=True)
def _tenant_deletion_cancelled(event: TenantDeletionCancelled, actor: Actor | None) -> None:
    if event.status == Tenant.Status.ACTIVE:  # restored to suspended: they keep waiting
        tenant_jobs_release(tenant=Tenant.objects.get(pk=event.tenant_id))


@subscribe(TenantReactivated, within_transaction=True)
def _tenant_reactivated(event: TenantReactivated, actor: Actor | None) -> None:
    tenant_jobs_release(tenant=Tenant.objects.get(pk=event.tenant_id))


@subscribe(TenantSettingsChanged, within_transaction=True)
def _timezone_changed(event: TenantSettingsChanged, actor: Actor | None) -> None:
    if "timezone" in event.after:  # "09:00" now means 09:00 on the new clock
        tenant_schedules_reschedule(tenant=Tenant.objects.get(pk=event.tenant_id))
