"""Reads of the request's tenant (its schema is active): another tenant's ids are simply not there."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from .errors import WebhookDeliveryNotFound, WebhookNotFound
from .models import Delivery, Endpoint


def endpoint_list() -> QuerySet[Endpoint]:
    return Endpoint.objects.all()


def endpoint_get(*, webhook_id) -> Endpoint:
    try:
        return Endpoint.objects.get(pk=webhook_id)
    except (Endpoint.DoesNotExist, ValidationError):
        raise WebhookNotFound() from None


def delivery_list(*, endpoint: Endpoint) -> QuerySet[Delivery]:
    return endpoint.deliveries.all()


def delivery_get(*, endpoint: Endpoint, delivery_id) -> Delivery:
    try:
        return endpoint.deliveries.select_related("endpoint").get(pk=delivery_id)
    except (Delivery.DoesNotExist, ValidationError):
        raise WebhookDeliveryNotFound() from None
