"""The nightly `webhook_deliveries` step (common/maintenance.py): finished deliveries older than
WEBHOOKS["DELIVERY_RETENTION_DAYS"] leave the log, in every tenant."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from common.maintenance import maintenance_step, rows_delete

from .models import Delivery


@maintenance_step("webhook_deliveries", per_tenant=True)
def webhook_deliveries_prune(*, now: datetime, tenant) -> int:
    cutoff = now - timedelta(days=settings.WEBHOOKS["DELIVERY_RETENTION_DAYS"])
    return rows_delete(Delivery.objects.filter(state__in=Delivery.FINISHED, finished_at__lt=cutoff))
