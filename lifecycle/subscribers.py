"""The audit rows of lifecycle's events (within the emitting transaction, as tenants/subscribers.py)."""

from __future__ import annotations

from common.actors import SYSTEM, Actor
from common.domain_events import subscribe
from tenants.audit import audit_record
from tenants.models import Tenant

from .domain_events import ExportRequested


@subscribe(ExportRequested, within_transaction=True)
def _export_requested(event: ExportRequested, actor: Actor | None) -> None:
    audit_record(
        tenant=Tenant.objects.get(pk=event.tenant_id),
        actor=actor or SYSTEM,
        action="export.request",
        target=f"export:{event.export_id}",
        after={"job": event.job_id},
    )
