from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = "Uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from common.body_limits import own_limit_register
        from tenants.usage import usage_contribution_register

        from . import (
            domain_events,  # noqa: F401  (declares file.stored)
            events,  # noqa: F401  (declares the file.* realtime events)
        )
        from .asgi import is_upload_path, upload_limit
        from .selectors import tenant_storage_usage

        own_limit_register(is_upload_path, upload_limit)  # the tenant's limit at the ASGI door
        # the tenant's storage_bytes and files, in its usage (tenants.usage)
        usage_contribution_register("uploads", lambda tenant: tenant_storage_usage(tenant=tenant))
