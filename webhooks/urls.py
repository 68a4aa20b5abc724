from django.urls import path

from . import apis

urlpatterns = [
    path("api/webhooks", apis.WebhookListApi.as_view(), name="webhook-list"),
    path("api/webhooks/events", apis.WebhookEventsApi.as_view(), name="webhook-events"),
    path("api/webhooks/<uuid:webhook_id>", apis.WebhookDetailApi.as_view(), name="webhook-detail"),
    path("api/webhooks/<uuid:webhook_id>/deliveries", apis.WebhookDeliveryListApi.as_view(), name="webhook-deliveries"),
    path(
        "api/webhooks/<uuid:webhook_id>/deliveries/<uuid:delivery_id>/redeliver",
        apis.WebhookRedeliverApi.as_view(),
        name="webhook-redeliver",
    ),
    path("api/webhooks/<uuid:webhook_id>/test", apis.WebhookTestApi.as_view(), name="webhook-test"),
]
