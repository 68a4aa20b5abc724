from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    """A tenant's end of life: exports (an archive of its data and files, restorable) and
    deletion (a grace period as `pending_deletion`, then a purge of its schema, files, Redis
    keys, jobs and records). It sits above the feature apps because a purge and an export
    reach into all of them (uploads' storage, webhooks, realtime's streams)."""

    name = "lifecycle"
    verbose_name = "Tenant lifecycle"
    default_auto_field = "django.db.models.BigAutoField"
