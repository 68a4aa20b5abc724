from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """Bulk imports into a tenant, as jobs. No models: what is imported lives
    where its own app keeps it (memberships: tenants), the outcome on the Job."""

    name = "imports"
    verbose_name = "Imports"
