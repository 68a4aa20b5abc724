"""Nightly clean-up of tenant records (steps: common/maintenance.py; run by jobs/maintenance.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from common.maintenance import maintenance_step, rows_delete

from .models import AuditEvent, Tenant
from .settings_schema import DEFAULTS, settings_effective


@maintenance_step("audit_events")
def audit_events_expired_remove(*, now: datetime) -> int:
    """Audit events older than their tenant's `audit_retention_days`; events whose
    tenant is gone keep the default retention. One DELETE (batched) per distinct retention."""
    tenants_by_days: dict[int, list] = defaultdict(list)
    for tenant_id, tenant_settings in Tenant.objects.values_list("pk", "settings").iterator(chunk_size=2000):
        tenants_by_days[settings_effective(tenant_settings)["audit_retention_days"]].append(tenant_id)
    removed = 0
    for days, tenant_ids in sorted(tenants_by_days.items()):
        cutoff = now - timedelta(days=days)
        removed += rows_delete(AuditEvent.objects.filter(tenant_id__in=tenant_ids, created_at__lt=cutoff))
    orphan_cutoff = now - timedelta(days=DEFAULTS["audit_retention_days"])
    removed += rows_delete(AuditEvent.objects.filter(tenant__isnull=True, created_at__lt=orphan_cutoff))
    return removed
