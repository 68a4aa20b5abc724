"""The nightly maintenance job removes exactly what has expired, and says how much."""

import itertools
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_q.models import Schedule, Task
from django_tenants.utils import tenant_context

from accounts.models import AuthToken
from jobs.models import Job
from jobs.services import job_enqueue
from realtime.models import Room
from tenants.audit import SYSTEM, audit_record
from tenants.models import AuditEvent
from tenants.services import tenant_settings_update

from .conftest import job_wait

_ids = itertools.count(1)


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def session(expires):
    return Session.objects.create(session_key=f"session{next(_ids):032d}", session_data="", expire_date=expires)


def token(user, *, expires, revoked=None):
    n = next(_ids)
    return AuthToken.objects.create(
        user=user, digest=f"{n:064x}", prefix=f"pt_{n}", expires_at=expires, revoked_at=revoked
    )


def audit_event(tenant, age_days):
    event = audit_record(tenant=tenant, actor=SYSTEM, action="test.event", target=f"age:{age_days}")
    AuditEvent.objects.filter(pk=event.pk).update(created_at=days_ago(age_days))
    return event


def finished_job(tenant, state, age_days):
    return Job.objects.create(tenant=tenant, task="noop", state=state, finished_on=days_ago(age_days))


def q_task(success, age_days):
    return Task.objects.create(
        id=f"task{next(_ids)}",
        name="schedule",
        func="jobs.schedules.tenant_schedules_run",
        started=days_ago(age_days),
        stopped=days_ago(age_days),
        success=success,
    )


def test_maintenance_removes_exactly_what_expired_and_records_what_it_removed(committed, qcluster, acme, globex):
    assert (settings.AUTH_TOKEN_RETENTION_DAYS, settings.JOBS_RETENTION_DAYS) == (30, 30)
    gone = [
        session(days_ago(1)),
        session(days_ago(40)),
        token(acme.owner, expires=days_ago(31)),  # expired past the 30-day grace
        token(acme.owner, expires=timezone.now() + timedelta(days=3), revoked=days_ago(31)),
        audit_event(acme, 31),  # acme keeps 30 days
        audit_event(globex, 366),  # globex keeps the default 365
        audit_event(None, 366),  # a deleted tenant's: the default
        finished_job(acme, "completed", 31),
        finished_job(globex, "failed", 31),
        finished_job(acme, "cancelled", 31),
        finished_job(None, "completed", 31),
        q_task(True, 31),
        q_task(False, 31),
    ]
    kept = [
        session(timezone.now() + timedelta(hours=1)),
        token(acme.owner, expires=days_ago(29)),
        token(acme.owner, expires=timezone.now() + timedelta(days=3), revoked=days_ago(1)),
        audit_event(acme, 29),
        audit_event(globex, 31),  # acme's shorter retention is not globex's
        audit_event(globex, 364),
        audit_event(None, 31),
        finished_job(acme, "completed", 29),
        Job.objects.create(tenant=acme, task="noop", state="queued"),  # old but not finished
        q_task(True, 29),
        q_task(False, 1),
    ]
    Job.objects.filter(state="queued").update(created_at=days_ago(60))
    tenant_settings_update(tenant=acme, data={"audit_retention_days": 30}, actor=SYSTEM)  # audited: kept
    for tenant, names in ((acme, ["orphan", "orphan", "general"]), (globex, ["orphan"])):
        with tenant_context(tenant):
            Room.objects.bulk_create([Room(name=name) for name in names])

    job = job_wait(job_enqueue(None, "maintenance.run", {}), timeout=60)

    assert job.state == "completed", job.failed_reason
    assert job.result["removed"] == {
        "sessions": 2,
        "auth_tokens": 2,
        "audit_events": 3,
        "jobs": 4,
        "django_q_successes": 1,
        "django_q_failures": 1,
        "orphaned_files": 0,
        "webhook_deliveries": 0,
        "orphaned_rooms": 3,
    }
    assert set(job.result["seconds"]) == {*job.result["removed"], "analyze"}
    for row in gone:
        assert not type(row).objects.filter(pk=row.pk).exists(), row
    for row in kept:
        assert type(row).objects.filter(pk=row.pk).exists(), row
    assert AuditEvent.objects.filter(tenant=acme, action="tenant.settings_update").exists()
    assert (
        AuthToken.objects.filter(
            user__in=[acme.owner, globex.owner], revoked_at=None, expires_at__gt=timezone.now()
        ).count()
        == 2
    )  # the fixtures' live tokens
    for tenant, left in ((acme, ["general"]), (globex, [])):
        with tenant_context(tenant):
            assert list(Room.objects.values_list("name", flat=True)) == left


def test_maintenance_is_a_platform_schedule_at_two_in_the_morning_that_enqueues_the_job(committed, qcluster):
    schedule = Schedule.objects.get(name="maintenance")
    assert (schedule.cron, schedule.func, schedule.args) == (
        "0 2 * * *",
        "jobs.schedules.platform_job_enqueue",
        "'maintenance.run'",
    )
    local = schedule.next_run.astimezone(ZoneInfo(settings.TIME_ZONE))
    assert (local.hour, local.minute) == (2, 0)

    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now())
    job = job_wait(_job_of("maintenance.run"), timeout=30)

    assert (job.state, job.tenant_id) == ("completed", None)
    assert Schedule.objects.get(pk=schedule.pk).next_run.astimezone(ZoneInfo(settings.TIME_ZONE)).hour == 2


def _job_of(task, timeout=10):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.filter(task=task).first()
        if job:
            return job
        time.sleep(0.05)
    raise AssertionError(f"no {task} job after {timeout} s")
