from django.apps import AppConfig
from django.conf import settings
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


def _platform_schedules(sender, using="default", **kwargs):
    from django.db import connections

    if connections[using].schema_name == "public":
        from .schedules import platform_schedules_ensure

        platform_schedules_ensure()


def _asynchronous_commit(sender, connection, **kwargs):
    """qcluster processes commit without waiting for the WAL flush. Safe for
    at-least-once: a crash of PostgreSQL loses only a suffix of the WAL, so a
    lost claim or outcome means the job runs again, and anything a task
    enqueued is lost only together with that task's own outcome. Enqueues
    acknowledged to users (web processes) stay synchronous."""
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")


PREPARE_THRESHOLD = 5  # psycopg's default; the runner's statements are prepared at once anyway


def _prepared_statements(sender, connection, **kwargs):
    """Let the runner's per-job statements be prepared once per connection
    (jobs/runner.py asks with `prepare=True`). Django opens psycopg connections
    with prepared statements off; its own (client-side) cursors never prepare,
    so only the statements that ask for it are affected."""
    connection.connection.prepare_threshold = PREPARE_THRESHOLD


def running_qcluster() -> bool:
    """This process is a qcluster: JOBS_QCLUSTER_PROCESS, set by whatever starts one (config/settings/jobs.py)."""
    return settings.JOBS_QCLUSTER_PROCESS


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tenants.usage import usage_contribution_register

        from . import (
            events,  # noqa: F401  (declares job.* realtime events)
            subscribers,  # noqa: F401  (a tenant's jobs follow its status and time zone)
        )
        from .registry import task_modules_import
        from .selectors import job_count

        task_modules_import()
        usage_contribution_register("jobs", lambda tenant: {"jobs": job_count(tenant=tenant)})
        post_migrate.connect(_platform_schedules, sender=self)
        if running_qcluster():
            from django.db import connections

            connection_created.connect(_asynchronous_commit)
            connection_created.connect(_prepared_statements)
            # django-q2 resets connections before every task; a health-check
            # query each time would cost a round trip per job. A broken
            # connection still fails its job's statement and is replaced.
            connections["default"].settings_dict["CONN_HEALTH_CHECKS"] = False
