"""What a tenant's purge announces (common/domain_events.py). The tenant is gone when it is
delivered: webhooks do not offer it (webhooks/catalogue.py), the one audit record is written
by the purge itself (lifecycle/deletion.py)."""

from __future__ import annotations

from common.domain_events import DomainEvent, domain_event


@domain_event("tenant.purged")
class TenantPurged(DomainEvent):
    """`removed`: what the purge removed, by kind (files, schema_tables, redis_keys, jobs, …)."""

    tenant_id: str
    slug: str
    removed: dict[str, int]
    actor_id: int | None = None
