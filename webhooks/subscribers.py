"""Every domain event of a tenant becomes deliveries to that tenant's subscribed endpoints.
Within the emitting transaction: a delivery and its job commit with the change (an outbox)."""

from __future__ import annotations

import logging

from django.db import DatabaseError

import tenants.domain_events  # noqa: F401  (declares the tenant events before the catalogue is read)
from common.actors import Actor
from common.domain_events import DomainEvent, subscribe

from .catalogue import tenant_events
from .services import deliveries_enqueue

logger = logging.getLogger("webhooks")


def _deliver(event: DomainEvent, actor: Actor | None) -> None:
    # What reads or writes the tenant's tables does so in a savepoint (services): a tenant schema
    # not migrated yet (migrate_schemas still under way) loses its deliveries, not the change.
    try:
        deliveries_enqueue(tenant_id=str(event.tenant_id), event=event.name, data=event.model_dump(mode="json"))
    except DatabaseError:
        logger.exception("webhook deliveries of %s for tenant %s not recorded", event.name, event.tenant_id)


def subscribers_connect() -> None:
    """Subscribe to every tenant event declared so far (called again: connects nothing twice)."""
    for event_class in tenant_events().values():
        subscribe(event_class, within_transaction=True)(_deliver)


subscribers_connect()
