"""Cron schedules: platform-wide ones are django-q2 `Schedule` rows (cron in
settings.TIME_ZONE); a tenant's own are `TenantSchedule` rows, evaluated with
croniter in the tenant's `timezone` setting (so "09:00" stays 09:00 local
across DST), fired by the platform schedule `tenant-schedules` every minute.

The broker runs django-q2's scheduler every second (jobs/broker.py), so a
schedule fires within about a second of its time.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter
from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger("jobs")


def cron_next(cron: str, tz_name: str, after: datetime) -> datetime:
    """The first time after `after` that `cron` matches on the clock of `tz_name` (aware, UTC)."""
    local = after.astimezone(ZoneInfo(tz_name))
    return croniter(cron, local).get_next(datetime).astimezone(ZoneInfo("UTC"))


def tenant_timezone(tenant) -> str:
    from tenants.settings_schema import settings_effective

    return settings_effective(tenant.settings).get("timezone") or "UTC"


def tenant_schedule_set(*, tenant, name: str, task: str, cron: str, payload: dict | None = None, enabled: bool = True):
    """Create or change a tenant's schedule; its next run is computed in the tenant's time zone."""
    from .models import TenantSchedule
    from .services import payload_validate, task_resolve

    if not croniter.is_valid(cron):
        from .errors import ScheduleInvalid

        raise ScheduleInvalid("Not a valid cron expression.", details={"cron": [cron]})
    data = payload_validate(task_resolve(task, tenant), payload)
    schedule, _ = TenantSchedule.objects.update_or_create(
        tenant=tenant,
        name=name,
        defaults={
            "task": task,
            "cron": cron,
            "payload": data,
            "enabled": enabled,
            "next_run": cron_next(cron, tenant_timezone(tenant), timezone.now()),
        },
    )
    return schedule


def tenant_schedules_reschedule(*, tenant) -> None:
    """Recompute the next run of the tenant's schedules (its time zone changed)."""
    from .models import TenantSchedule

    tz_name, now = tenant_timezone(tenant), timezone.now()
    for schedule in TenantSchedule.objects.filter(tenant=tenant):
        schedule.next_run = cron_next(schedule.cron, tz_name, now)
        schedule.save(update_fields=["next_run"])


def tenant_schedules_run() -> int:
    """Enqueue the job of every due tenant schedule, once per due time. (django-q2 runs this.)
    A suspended tenant's schedules do not fire; reactivation moves them to their
    next time from then (jobs.services.tenant_jobs_release)."""
    from .models import TenantSchedule
    from .services import job_enqueue

    fired = 0
    now = timezone.now()
    with transaction.atomic():
        due = (
            TenantSchedule.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("tenant")
            .filter(enabled=True, next_run__lte=now, tenant__status="active")
        )
        for schedule in due:
            job = job_enqueue(
                schedule.tenant,
                schedule.task,
                schedule.payload,
                idempotency_key=f"schedule:{schedule.pk}:{schedule.next_run:%Y-%m-%dT%H:%M}",
            )
            schedule.last_job = job
            schedule.next_run = cron_next(schedule.cron, tenant_timezone(schedule.tenant), now)
            schedule.save(update_fields=["last_job", "next_run"])
            fired += 1
    return fired


def platform_job_enqueue(task: str, **payload) -> int:
    """A platform job from a django-q2 schedule (so it gets a Job record, attempts and a result)."""
    from .services import job_enqueue

    return job_enqueue(None, task, payload).pk


def platform_schedules_ensure() -> None:
    """Create or update the django-q2 schedules the platform declares (settings.JOBS_PLATFORM_SCHEDULES)."""
    from django_q.models import Schedule

    for name, spec in settings.JOBS_PLATFORM_SCHEDULES.items():
        func = spec.get("func", "jobs.schedules.platform_job_enqueue")
        args = repr(spec["task"]) if "task" in spec else None
        schedule = Schedule.objects.filter(name=name).first()
        if schedule is None:
            schedule = Schedule(name=name)
        changed = (schedule.func, schedule.args, schedule.cron) != (func, args, spec["cron"])
        if changed or schedule.pk is None:
            schedule.func, schedule.args, schedule.cron = func, args, spec["cron"]
            schedule.schedule_type, schedule.repeats = Schedule.CRON, -1
            schedule.next_run = cron_next(spec["cron"], settings.TIME_ZONE, timezone.now())
            schedule.save()
            logger.info("platform schedule %s: %s", name, spec["cron"])
