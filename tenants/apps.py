import logging

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import (
            signals,  # noqa: F401  (cache invalidation only)
            subscribers,  # noqa: F401  (the audit log, from the domain events)
        )
        from .invitations import LOGGERS_WITH_PATHS, LinkTokenRedactor

        for name in LOGGERS_WITH_PATHS:  # invitation links carry their token in the path
            logging.getLogger(name).addFilter(LinkTokenRedactor())
