"""The events an endpoint may subscribe to: the platform's domain events that carry a tenant
(a `tenant_id` field), plus `webhook.ping` (POST /api/webhooks/{id}/test, sent whatever the
endpoint's events). `tenant.created` is left out: no endpoint of a tenant exists before it."""

from __future__ import annotations

from common.domain_events import DomainEvent, events_declared

PING = "webhook.ping"
# tenant.created: no endpoint exists before it. A tenant pending deletion delivers nothing (its jobs are held), so
# its deletion's events could only arrive late (after a restore) or never (purged): offered is the restore's only.
NOT_OFFERED = frozenset({"tenant.created", "tenant.deletion_requested", "tenant.deletion_expedited", "tenant.purged"})


def tenant_events() -> dict[str, type[DomainEvent]]:
    """Name → class of every declared domain event of a tenant (their payload: `model_json_schema()`)."""
    return {
        name: cls
        for name, cls in events_declared().items()
        if "tenant_id" in cls.model_fields and name not in NOT_OFFERED
    }


def events_unknown(events: list[str]) -> list[str]:
    known = tenant_events()
    return sorted({event for event in events if event not in known})
