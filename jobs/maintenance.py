"""The nightly clean-up: the platform job `maintenance.run` (platform schedule
`maintenance`, 02:00 in settings.TIME_ZONE) runs every declared step, then
`ANALYZE`, and records what each step removed as the job's result:

    {"removed": {"sessions": 12, "auth_tokens": 3, "audit_events": 40, ...},
     "seconds": {"sessions": 0.01, ..., "analyze": 0.8}}

Steps are declared where their data lives with `common.maintenance.maintenance_step`
(accounts, tenants, uploads, and the job system's own below); a per-tenant step runs here
in each tenant's schema.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from common.maintenance import MaintenanceStep, maintenance_step, maintenance_steps, rows_delete

from .registry import job_task


def _step_run(step: MaintenanceStep, now: datetime) -> int:
    if not step.per_tenant:
        return step.func(now=now)
    from tenants.models import Tenant

    removed = 0
    try:
        # a tenant pending deletion is left to its purge (which may have dropped its schema already)
        for tenant in list(Tenant.objects.exclude(status=Tenant.Status.PENDING_DELETION).order_by("created_at")):
            connection.set_tenant(tenant)
            removed += step.func(now=now, tenant=tenant)
    finally:
        connection.set_schema_to_public()
    return removed


def maintenance_run(*, job=None, now: datetime | None = None) -> dict:
    """Run every step, then ANALYZE; returns {removed: {step: n}, seconds: {step: s}}."""
    now = now or timezone.now()
    steps = maintenance_steps()
    removed: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for done, step in enumerate(steps):
        if job is not None:
            job.progress(100 * done / (len(steps) + 1), step.name)
        started = time.monotonic()
        removed[step.name] = _step_run(step, now)
        seconds[step.name] = round(time.monotonic() - started, 3)
    if job is not None:
        job.progress(100 * len(steps) / (len(steps) + 1), "analyze")
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # every table of the database: tenant schemas too
    seconds["analyze"] = round(time.monotonic() - started, 3)
    return {"removed": removed, "seconds": seconds}


@job_task("maintenance.run", platform=True, timeout=3600, max_attempts=3, backoff=300.0, critical=True)
def maintenance_task(job, payload) -> dict:
    return maintenance_run(job=job)


# --- the job system's own clean-up -----------------------------------------------


def _retention_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=settings.JOBS_RETENTION_DAYS)


@maintenance_step("jobs")
def finished_jobs_remove(*, now: datetime) -> int:
    """Completed, failed and cancelled jobs finished more than JOBS_RETENTION_DAYS ago."""
    from .models import Job

    return rows_delete(Job.objects.filter(state__in=Job.FINISHED_STATES, finished_on__lt=_retention_cutoff(now)))


@maintenance_step("django_q_successes")
def q_successes_remove(*, now: datetime) -> int:
    """django-q2's records of plain tasks (schedules) that succeeded, past the same retention."""
    from django_q.models import Success

    return rows_delete(Success.objects.filter(stopped__lt=_retention_cutoff(now)))


@maintenance_step("django_q_failures")
def q_failures_remove(*, now: datetime) -> int:
    from django_q.models import Failure

    return rows_delete(Failure.objects.filter(stopped__lt=_retention_cutoff(now)))
