"""Webhook endpoints, and the deliveries of events to them.

Invariants:
- An endpoint's URL passed the SSRF rule (webhooks/network.py) when saved; each attempt checks it again.
- deliveries_enqueue runs in the emitting transaction (webhooks/subscribers.py): a delivery and its
  `webhook.deliver` job commit with the change or not at all (an outbox). Only enabled endpoints of
  the event's tenant that subscribed to the event get one, and none while the tenant's `webhooks`
  feature is off. A suspended tenant's jobs are held by the queue (jobs/queue_sql.py HOLD): nothing
  is sent until it is reactivated.
- An attempt that fails is retried by the job system with its backoff, except a 4xx other than
  408/429 or a refused address; a delivery failed for good counts towards disabling its endpoint
  (WEBHOOKS["DISABLE_AFTER_FAILURES"] in a row), which notifies the tenant's owners and admins.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from common.localcache import LocalCache, invalidate
from jobs.runner import JobFailure
from jobs.services import job_enqueue
from realtime.services import notification_create
from tenants.access import feature_enabled
from tenants.models import MANAGER_ROLES, Membership, Tenant

from .catalogue import PING, events_unknown
from .errors import (
    WebhookDeliveryInProgress,
    WebhookDisabled,
    WebhookEventsUnknown,
    WebhookLimitReached,
    WebhookUrlRefused,
)
from .models import Delivery, Endpoint
from .network import url_resolve
from .sending import headers_sign, post

logger = logging.getLogger("webhooks")

TASK = "webhook.deliver"

# Per process: the events a tenant's enabled webhooks want, so that the many events no webhook
# wants cost no query in the emitting transaction. Dropped everywhere when a webhook changes.
_subscriptions = LocalCache("webhooks.subscriptions", ttl=300)


def _subscriptions_key(tenant_id) -> str:
    return f"webhooks:{tenant_id}"


def subscriptions_forget(tenant_id) -> None:
    invalidate(_subscriptions_key(tenant_id))


def subscribed_events(tenant: Tenant) -> frozenset[str]:
    """The events some enabled webhook of `tenant` subscribed to (cached in this process)."""

    def load() -> list[str]:
        with _schema_of(tenant), transaction.atomic():  # a savepoint: see webhooks/subscribers.py
            rows = Endpoint.objects.filter(enabled=True).order_by().values_list("events", flat=True)
            return sorted({event for events in rows for event in events})

    return frozenset(_subscriptions.get_or_load(_subscriptions_key(tenant.pk), load))


def subscriptions_cached(tenant: Tenant) -> bool:
    """Whether this process holds `tenant`'s subscribed events (for tests that count statements)."""
    return _subscriptions_key(tenant.pk) in _subscriptions._entries


def secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def events_check(events: list[str]) -> list[str]:
    unknown = events_unknown(events)
    if unknown:
        raise WebhookEventsUnknown(details={"events": unknown})
    return sorted(set(events))


def endpoint_create(*, tenant: Tenant, user, url: str, events: list[str], description: str = "") -> Endpoint:
    events = events_check(events)
    url_resolve(url)
    if Endpoint.objects.count() >= settings.WEBHOOKS["MAX_ENDPOINTS_PER_TENANT"]:
        raise WebhookLimitReached(details={"max": settings.WEBHOOKS["MAX_ENDPOINTS_PER_TENANT"]})
    subscriptions_forget(tenant.pk)
    return Endpoint.objects.create(
        url=url, events=events, description=description, secret=secret_new(), created_by=user if user.pk else None
    )


def endpoint_update(*, tenant: Tenant, endpoint: Endpoint, **changes: Any) -> Endpoint:
    """Change url / events / description / enabled; enabling again clears the failure count."""
    if "events" in changes:
        changes["events"] = events_check(changes["events"])
    if "url" in changes:
        url_resolve(changes["url"])
    if changes.get("enabled") and not endpoint.enabled:
        changes.update(consecutive_failures=0, disabled_reason="")
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.save()
    subscriptions_forget(tenant.pk)
    return endpoint


def endpoint_delete(*, tenant: Tenant, endpoint: Endpoint) -> None:
    """Deletes its log too; its waiting jobs find no delivery and do nothing."""
    endpoint.delete()
    subscriptions_forget(tenant.pk)


def payload_build(event: str, data: dict) -> dict:
    """The Standard Webhooks body."""
    return {"type": event, "timestamp": timezone.now().isoformat(), "data": data}


@contextmanager
def _schema_of(tenant: Tenant) -> Iterator[None]:
    previous = getattr(connection, "tenant", None) if connection.schema_name != "public" else None
    if connection.schema_name != tenant.schema_name:
        connection.set_tenant(tenant)
    try:
        yield
    finally:
        if previous is None:
            connection.set_schema_to_public()
        elif previous.schema_name != tenant.schema_name:
            connection.set_tenant(previous)


def _enqueue(tenant: Tenant, delivery: Delivery) -> Delivery:
    job = job_enqueue(tenant, TASK, {"delivery_id": str(delivery.pk)}, max_attempts=settings.WEBHOOKS["MAX_ATTEMPTS"])
    delivery.job_id = job.pk
    delivery.save(update_fields=["job_id"])
    return delivery


def deliveries_enqueue(*, tenant_id: str, event: str, data: dict) -> list[Delivery]:
    """A delivery (and its job) for each enabled endpoint of the tenant subscribed to `event`.
    An event no webhook of the tenant wants costs no query (once this process has cached that)."""
    current = getattr(connection, "tenant", None)
    tenant = current if str(getattr(current, "pk", "")) == str(tenant_id) else None
    if tenant is None:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None or event not in subscribed_events(tenant) or not feature_enabled(tenant, "webhooks"):
        return []
    with _schema_of(tenant), transaction.atomic():
        endpoints = list(Endpoint.objects.filter(enabled=True, events__contains=[event]))
        payload = payload_build(event, data)
        return [_enqueue(tenant, Delivery.objects.create(endpoint=e, event=event, payload=payload)) for e in endpoints]


def endpoint_ping(*, tenant: Tenant, endpoint: Endpoint) -> Delivery:
    if not endpoint.enabled:
        raise WebhookDisabled()
    with transaction.atomic():
        payload = payload_build(PING, {"webhook_id": str(endpoint.pk)})
        return _enqueue(tenant, Delivery.objects.create(endpoint=endpoint, event=PING, payload=payload))


def delivery_redeliver(*, tenant: Tenant, delivery: Delivery) -> Delivery:
    """Send a finished delivery again (same body, same webhook-id), as a new job."""
    if delivery.state not in Delivery.FINISHED:
        raise WebhookDeliveryInProgress(details={"state": delivery.state})
    if not delivery.endpoint.enabled:
        raise WebhookDisabled()
    with transaction.atomic():
        delivery.state, delivery.next_retry_at, delivery.finished_at = Delivery.State.PENDING, None, None
        delivery.save(update_fields=["state", "next_retry_at", "finished_at"])
        return _enqueue(tenant, delivery)


def _retryable(status_code: int | None) -> bool:
    return status_code is None or not 400 <= status_code < 500 or status_code in (408, 429)


def delivery_attempt(*, tenant: Tenant, delivery_id: str, attempt: int, max_attempts: int, backoff: float) -> dict:
    """One attempt (in the tenant's schema, from the `webhook.deliver` job). Returns the outcome when
    the delivery is finished; raises JobFailure(retry=True) when the job should try again."""
    delivery = Delivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.state in Delivery.FINISHED:
        return {"skipped": "deleted" if delivery is None else delivery.state}
    endpoint, now = delivery.endpoint, timezone.now()
    if not endpoint.enabled:
        return _finish(delivery, Delivery.State.FAILED, now, error="The webhook is disabled.")
    try:
        target = url_resolve(endpoint.url)
    except WebhookUrlRefused as exc:
        delivery.attempts += 1
        delivery.status_code, delivery.duration_ms = None, 0
        return _failed(tenant, delivery, now, error=str(exc.details.get("url", [exc.message])[0]))
    body = json.dumps(delivery.payload, separators=(",", ":"))
    answer = post(
        target,
        body=body,
        headers=headers_sign(secret=endpoint.secret, msg_id=delivery.msg_id, timestamp=now, body=body),
    )
    delivery.attempts += 1
    delivery.status_code, delivery.duration_ms, delivery.response_body = (
        answer.status_code,
        answer.duration_ms,
        answer.body,
    )
    code = answer.status_code
    if code is not None and 200 <= code < 300:
        if endpoint.consecutive_failures:
            Endpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        return _finish(delivery, Delivery.State.DELIVERED, now, error="")
    error = answer.error or f"HTTP {code}"
    if _retryable(code) and attempt < max_attempts:
        delivery.state, delivery.error = Delivery.State.RETRYING, error
        delivery.next_retry_at = now + timedelta(seconds=backoff * 2 ** (attempt - 1))
        delivery.save()
        raise JobFailure(f"webhook delivery {delivery.pk}: {error}", retry=True)
    return _failed(tenant, delivery, now, error=error)


def _finish(delivery: Delivery, state: str, now, *, error: str) -> dict:
    delivery.state, delivery.error, delivery.next_retry_at, delivery.finished_at = state, error[:500], None, now
    delivery.save()
    return {"delivery": str(delivery.pk), "state": state, "status_code": delivery.status_code}


def _failed(tenant: Tenant, delivery: Delivery, now, *, error: str) -> dict:
    """Failed for good: counted towards disabling the endpoint. The job completes (the log holds the outcome)."""
    outcome = _finish(delivery, Delivery.State.FAILED, now, error=error)
    Endpoint.objects.filter(pk=delivery.endpoint_id).update(consecutive_failures=F("consecutive_failures") + 1)
    limit = settings.WEBHOOKS["DISABLE_AFTER_FAILURES"]
    reason = f"Disabled after {limit} failed deliveries in a row."
    disabled = Endpoint.objects.filter(pk=delivery.endpoint_id, enabled=True, consecutive_failures__gte=limit).update(
        enabled=False, disabled_reason=reason
    )
    if disabled:
        subscriptions_forget(tenant.pk)
        endpoint_disabled_notify(tenant=tenant, endpoint=delivery.endpoint, reason=reason)
    return outcome


def endpoint_disabled_notify(*, tenant: Tenant, endpoint: Endpoint, reason: str) -> None:
    """A stored notification (and its live event) for each owner and admin of the tenant."""
    logger.warning("webhook %s of tenant %s disabled: %s", endpoint.pk, tenant.pk, reason)
    managers = Membership.objects.filter(tenant=tenant, role__in=list(MANAGER_ROLES)).values_list("user_id", flat=True)
    data = {"webhook_id": str(endpoint.pk), "url": endpoint.url, "reason": reason}
    for user_id in sorted(set(managers)):
        notification_create(user_id=user_id, event="webhook.disabled", data=data)
