from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _platform_schedules(sender, using="default", **kwargs):
    from django.db import connections

    if connections[using].schema_name == "public":
        from .schedules import platform_schedules_ensure

        platform_schedules_ensure()


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import events  # noqa: F401  (declares job.* realtime events)
        from .registry import task_modules_import

        task_modules_import()
        post_migrate.connect(_platform_schedules, sender=self)
