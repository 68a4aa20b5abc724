from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import (
            signals,  # noqa: F401  (cache invalidation only)
            subscribers,  # noqa: F401  (the audit log, from the domain events)
        )
