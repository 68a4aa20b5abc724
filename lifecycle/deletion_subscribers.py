"""An operator's "Delete now" (tenants' `tenant.deletion_expedited`) queues the purge sweep, in the
emitting transaction (an outbox: the job commits with the tenant's new due time, or not at all)."""

from __future__ import annotations

from common.actors import Actor
from common.domain_events import subscribe
from jobs.services import job_enqueue
from tenants.domain_events import TenantDeletionExpedited

from . import deletion_tasks  # noqa: F401  (declares tenant.purge_due)


@subscribe(TenantDeletionExpedited, within_transaction=True)
def _tenant_deletion_expedited(event: TenantDeletionExpedited, actor: Actor | None) -> None:
    job_enqueue(None, "tenant.purge_due", {})
