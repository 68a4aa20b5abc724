from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _digest_schedules(sender, using="default", **kwargs):
    from django.db import connections

    if connections[using].schema_name == "public":
        from .services import digest_schedules_ensure

        digest_schedules_ensure()


class EmailsConfig(AppConfig):
    """Email as jobs: POST /api/send-email, the welcome email, the daily digest, the signup emails.
    No tables: a message's record is its `email.send` Job."""

    name = "emails"
    verbose_name = "Emails"

    def ready(self):
        # This app has no models, so it gets no post_migrate of its own: ride on the jobs app's
        # (its TenantSchedule table holds the digests). Existing tenants get theirs on migrate.
        post_migrate.connect(
            _digest_schedules, sender=apps.get_app_config("jobs"), dispatch_uid="emails.digest_schedules"
        )
        # The welcome of a new member, the digest of a new tenant, the answers to a signup
        # (accounts and tenants announce, emails sends).
        from . import subscribers  # noqa: F401
