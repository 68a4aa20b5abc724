from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    """A tenant's end of life: exports (an archive of its data and files, restorable) and
    deletion (a grace period as `pending_deletion`, then a purge of its schema, files, Redis
    keys, jobs and records). It sits above the feature apps because a purge and an export
    reach into all of them (uploads' storage, webhooks, realtime's streams)."""

    name = "lifecycle"
    verbose_name = "Tenant lifecycle"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from webhooks.subscribers import subscribers_connect

        from . import (
            checks,  # noqa: F401  (uploads where exports look for them)
            deletion_subscribers,  # noqa: F401  (an operator's "Delete now" queues the purge sweep)
            domain_events,  # noqa: F401  (declares export.*)
            subscribers,  # noqa: F401  (the audit row of export.requested)
        )

        subscribers_connect()  # webhooks connected the events declared before it: now lifecycle's too
