"""A tenant's webhook endpoints and their delivery log: tenant data, in each tenant's schema
(isolated like the rest of its data, exported and dropped with it; no tenant_id to forget in a query).

Invariants:
- `secret` (`whsec_` + base64 of 32 random bytes) signs every delivery; the API shows it once.
- A Delivery is the outbox row of one event for one endpoint; its `webhook-id` header is `msg_<id>`,
  the same on every attempt and redelivery (receivers deduplicate on it).
- `consecutive_failures` counts deliveries failed for good in a row; a delivered one resets it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Endpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text="Domain event names (common.domain_events) it receives.")
    description = models.CharField(max_length=500, blank=True, default="")
    secret = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Users live in `public`: no database constraint from a tenant schema (see realtime.models).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"webhook {self.pk} → {self.url}"


class Delivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"  # waiting for its first attempt (or a redelivery's)
        RETRYING = "retrying"  # failed, next attempt at next_retry_at
        DELIVERED = "delivered"
        FAILED = "failed"  # for good: no retry left, or not retried (4xx, refused address)

    FINISHED = (State.DELIVERED, State.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=100)
    payload = models.JSONField(help_text="The Standard Webhooks body: {type, timestamp, data}.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True, help_text="Of the last attempt; null: no answer.")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    response_body = models.TextField(blank=True, default="")
    next_retry_at = models.DateTimeField(null=True, blank=True)
    job_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["endpoint", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.state})"

    @property
    def msg_id(self) -> str:
        return f"msg_{self.pk.hex}"
