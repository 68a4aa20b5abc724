from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks: a tenant's endpoints subscribe to domain events; each event becomes a
    signed delivery (Standard Webhooks), sent by a `webhook.deliver` job of the tenant."""

    name = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import subscribers  # noqa: F401  (every tenant event → deliveries, in its transaction)
