"""Webhook endpoints (tenant hosts, owners and admins): the request's tenant schema is active,
so another tenant's webhooks and deliveries are not found (404)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from common.pagination import PagePagination
from tenants.api_base import IsTenantManager, TenantApi

from .selectors import delivery_get, delivery_list, endpoint_get, endpoint_list
from .serializers import (
    AcceptedDeliverySerializer,
    DeliveryOutputSerializer,
    EndpointCreatedSerializer,
    EndpointInputSerializer,
    EndpointOutputSerializer,
    EndpointUpdateSerializer,
    EventCatalogueSerializer,
    event_catalogue,
)
from .services import delivery_redeliver, endpoint_create, endpoint_delete, endpoint_ping, endpoint_update

NOT_FOUND = {404: "`webhook_not_found`"}


class WebhooksApi(TenantApi):
    capability = "webhooks"  # tenants.access: off only if the tenant's features say so
    tenant_permission_classes = [IsTenantManager]


class WebhookListApi(WebhooksApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {400: "`webhook_events_unknown`, `webhook_url_refused`", 409: "`webhook_limit_reached`"},
    }

    @extend_schema(responses=EndpointOutputSerializer(many=True), tags=["webhooks"])
    def get(self, request):
        paginator = PagePagination()
        page = paginator.paginate_queryset(endpoint_list(), request, view=self)
        return paginator.get_paginated_response(EndpointOutputSerializer(page, many=True).data)

    @extend_schema(
        request=EndpointInputSerializer,
        responses={201: EndpointCreatedSerializer},
        tags=["webhooks"],
        description="Owners/admins. The answer carries the signing secret, shown this once.",
    )
    def post(self, request):
        data = EndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = endpoint_create(tenant=self.tenant, user=request.user, **data.validated_data)
        return Response({"id": str(endpoint.pk), "secret": endpoint.secret}, status=status.HTTP_201_CREATED)


class WebhookEventsApi(WebhooksApi):
    @extend_schema(
        responses=EventCatalogueSerializer, tags=["webhooks"], description="The events a webhook may receive."
    )
    def get(self, request):
        return Response(event_catalogue())


class WebhookDetailApi(WebhooksApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": NOT_FOUND,
        "patch": {**NOT_FOUND, 400: "`webhook_events_unknown`, `webhook_url_refused`"},
        "delete": NOT_FOUND,
    }

    @extend_schema(responses=EndpointOutputSerializer, tags=["webhooks"])
    def get(self, request, webhook_id):
        return Response(EndpointOutputSerializer(endpoint_get(webhook_id=webhook_id)).data)

    @extend_schema(request=EndpointUpdateSerializer, responses=EndpointOutputSerializer, tags=["webhooks"])
    def patch(self, request, webhook_id):
        endpoint = endpoint_get(webhook_id=webhook_id)
        data = EndpointUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = endpoint_update(tenant=self.tenant, endpoint=endpoint, **data.validated_data)
        return Response(EndpointOutputSerializer(endpoint).data)

    @extend_schema(responses={204: None}, tags=["webhooks"])
    def delete(self, request, webhook_id):
        endpoint_delete(tenant=self.tenant, endpoint=endpoint_get(webhook_id=webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListApi(WebhooksApi):
    error_codes = {"get": NOT_FOUND}  # beyond every route's codes (common/schema.py: STATUS_TEXT)

    @extend_schema(responses=DeliveryOutputSerializer(many=True), tags=["webhooks"])
    def get(self, request, webhook_id):
        paginator = PagePagination()
        page = paginator.paginate_queryset(
            delivery_list(endpoint=endpoint_get(webhook_id=webhook_id)), request, view=self
        )
        return paginator.get_paginated_response(DeliveryOutputSerializer(page, many=True).data)


class WebhookRedeliverApi(WebhooksApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {
            404: "`webhook_not_found`, `webhook_delivery_not_found`",
            409: "`webhook_delivery_in_progress`, `webhook_disabled`",
        },
    }

    @extend_schema(request=None, responses={202: AcceptedDeliverySerializer}, tags=["webhooks"])
    def post(self, request, webhook_id, delivery_id):
        delivery = delivery_get(endpoint=endpoint_get(webhook_id=webhook_id), delivery_id=delivery_id)
        delivery = delivery_redeliver(tenant=self.tenant, delivery=delivery)
        return Response({"delivery_id": str(delivery.pk), "job_id": delivery.job_id}, status=status.HTTP_202_ACCEPTED)


class WebhookTestApi(WebhooksApi):
    error_codes = {"post": {**NOT_FOUND, 409: "`webhook_disabled`"}}  # beyond every route's codes

    @extend_schema(
        request=None,
        responses={202: AcceptedDeliverySerializer},
        tags=["webhooks"],
        description="Sends a `webhook.ping` event to the webhook, whatever its events.",
    )
    def post(self, request, webhook_id):
        delivery = endpoint_ping(tenant=self.tenant, endpoint=endpoint_get(webhook_id=webhook_id))
        return Response({"delivery_id": str(delivery.pk), "job_id": delivery.job_id}, status=status.HTTP_202_ACCEPTED)
