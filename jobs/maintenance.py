"""The nightly clean-up: the platform job `maintenance.run` (platform schedule
`maintenance`, 02:00 in settings.TIME_ZONE) runs every declared step, then
`ANALYZE`, and records what each step removed as the job's result:

    {"removed": {"sessions": 12, "auth_tokens": 3, "audit_events": 40, ...},
     "seconds": {"sessions": 0.01, ..., "analyze": 0.8}}

A step is declared where its data lives, in a module listed in
settings.MAINTENANCE_STEP_MODULES, and returns how many rows (or files) it removed:

    @maintenance_step("orphaned_files", per_tenant=True)
    def orphaned_files_remove(*, now, tenant) -> int: ...   # runs in each tenant's schema

Steps delete in batches (`rows_delete`: a short transaction each), so a step
that fails keeps what was already removed; the job retries and the steps, all
idempotent, run again. Steps run
in module order, then declaration order. The uploads app is expected to add its
orphaned-file step this way.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .registry import job_task

BATCH = 5000  # rows per DELETE: short transactions, bounded memory


@dataclass(frozen=True)
class MaintenanceStep:
    name: str
    func: Callable[..., int]
    per_tenant: bool  # called once per tenant, with the tenant's schema active


_STEPS: dict[str, MaintenanceStep] = {}


def maintenance_step(name: str, *, per_tenant: bool = False):
    def register(func: Callable[..., int]) -> Callable[..., int]:
        if name in _STEPS and _STEPS[name].func is not func:
            raise RuntimeError(f"maintenance step {name!r} declared twice")
        _STEPS[name] = MaintenanceStep(name, func, per_tenant)
        return func
    return register


def maintenance_steps() -> list[MaintenanceStep]:
    """The declared steps, in the order of settings.MAINTENANCE_STEP_MODULES."""
    modules = list(settings.MAINTENANCE_STEP_MODULES)
    for module in modules:
        importlib.import_module(module)

    def position(step: MaintenanceStep) -> int:
        module = step.func.__module__
        return modules.index(module) if module in modules else len(modules)

    return sorted(_STEPS.values(), key=position)  # stable: declaration order within a module


def rows_delete(queryset: QuerySet) -> int:
    """Delete what `queryset` matches in batches of BATCH rows (cascades included);
    returns how many rows of its model went."""
    model = queryset.model
    removed = 0
    while True:
        ids = list(queryset.order_by().values_list("pk", flat=True)[:BATCH])
        if not ids:
            return removed
        with transaction.atomic():
            _, per_model = model._base_manager.filter(pk__in=ids).delete()
        removed += per_model.get(model._meta.label, 0)


def _step_run(step: MaintenanceStep, now: datetime) -> int:
    if not step.per_tenant:
        return step.func(now=now)
    from tenants.models import Tenant

    removed = 0
    try:
        for tenant in list(Tenant.objects.order_by("created_at")):
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
