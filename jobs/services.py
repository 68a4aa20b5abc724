"""The one way to start background work, and what users may do to jobs.

    job = job_enqueue(tenant, "report.generate", {"kind": "members"}, user=request.user)

The Job row and its queue entry are written in the caller's transaction: the
qcluster sees the job exactly when (and only if) that transaction commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pydantic import ValidationError

from .broker import entries_create
from .errors import JobNotCancellable, JobNotFailed, JobOptionInvalid, PayloadInvalid, ScheduleInvalid, TaskUnknown
from .models import Job, Priority, QueueEntry
from .queue_sql import HOLD, RELEASE
from .registry import TaskSpec, task_get

logger = logging.getLogger("jobs")

MAX_DELAY = timedelta(days=30)


def task_resolve(task: str, tenant) -> TaskSpec:
    """The declared task `task` may run for `tenant` (None: platform), or 400 task_unknown."""
    spec = task_get(task)
    if spec is None or spec.platform != (tenant is None):
        raise TaskUnknown(details={"task": task})
    return spec


def payload_validate(spec: TaskSpec, payload: Any) -> dict:
    """The payload as the task's schema makes it, or 400 payload_invalid naming the fields."""
    try:
        return spec.payload_validate(payload)
    except ValidationError as exc:
        details = {".".join(str(p) for p in err["loc"]) or "payload": [err["msg"]] for err in exc.errors()}
        raise PayloadInvalid(details=details) from exc


def _run_at(delay, run_at, now: datetime) -> datetime | None:
    if delay is not None and run_at is not None:
        raise ScheduleInvalid("Give either delay or run_at, not both.")
    if delay is not None:
        try:
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
        except (TypeError, ValueError, OverflowError):  # 10**400 does not fit a float
            seconds = float("nan")
        # Checked as a number before it becomes a timedelta: 1e20 s overflows one (a 500),
        # and NaN compares false both ways, so the range is written to fail for it.
        if not 0 <= seconds <= MAX_DELAY.total_seconds():
            raise ScheduleInvalid(details={"delay": ["0 seconds to 30 days."]})
        return now + timedelta(seconds=seconds) if seconds else None
    if run_at is not None:
        if run_at < now - timedelta(seconds=1) or run_at > now + MAX_DELAY:
            raise ScheduleInvalid(details={"run_at": ["From now to 30 days ahead."]})
        return run_at
    return None


def _bounded(name: str, value, default: int, low: int, high: int) -> int:
    value = default if value is None else value
    if not isinstance(value, int) or not low <= value <= high:
        raise JobOptionInvalid(details={name: [f"An integer from {low} to {high}."]})
    return value


def job_build(
    tenant,
    task: str,
    payload: Any = None,
    *,
    priority: str = "default",
    delay=None,
    run_at=None,
    timeout: int | None = None,
    max_attempts: int | None = None,
    idempotency_key: str | None = None,
    user=None,
    now: datetime | None = None,
) -> Job:
    """A validated, unsaved Job (raises the job system's 4xx errors)."""
    spec = task_resolve(task, tenant)
    data = payload_validate(spec, payload)
    try:
        prio = Priority.from_name(priority)
    except KeyError:
        raise JobOptionInvalid(details={"priority": ["One of high, default, low."]}) from None
    now = now or timezone.now()
    when = _run_at(delay, run_at, now)
    return Job(
        tenant=tenant,
        task=task,
        payload=data,
        priority=prio,
        run_at=when,
        state=Job.State.SCHEDULED if when and when > now else Job.State.QUEUED,
        timeout=_bounded("timeout", timeout, spec.timeout, 1, 24 * 3600),
        max_attempts=_bounded("max_attempts", max_attempts, spec.max_attempts, 1, 25),
        critical=spec.critical,
        idempotency_key=idempotency_key or None,
        created_by=user if getattr(user, "pk", None) else None,
    )


def job_enqueue(
    tenant,
    task: str,
    payload: Any = None,
    *,
    priority: str = "default",
    delay=None,
    run_at=None,
    timeout: int | None = None,
    max_attempts: int | None = None,
    idempotency_key: str | None = None,
    user=None,
) -> Job:
    """Record a Job and queue it. With an `idempotency_key` already used in this
    tenant, the existing job is returned and nothing new is queued."""
    job = job_build(
        tenant,
        task,
        payload,
        priority=priority,
        delay=delay,
        run_at=run_at,
        timeout=timeout,
        max_attempts=max_attempts,
        idempotency_key=idempotency_key,
        user=user,
    )
    if job.idempotency_key:
        existing = Job.objects.filter(tenant=tenant, idempotency_key=job.idempotency_key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            job.save()
            entries_create([job])
    except IntegrityError:
        if not job.idempotency_key:
            raise
        return Job.objects.get(tenant=tenant, idempotency_key=job.idempotency_key)
    return job


def job_enqueue_many(jobs: Iterable[Job]) -> list[Job]:
    """Queue many built jobs (job_build) in one transaction: two statements in all."""
    jobs = Job.objects.bulk_create(list(jobs), batch_size=2000)
    with transaction.atomic():
        entries_create(jobs)
    return jobs


def job_retry(*, job: Job) -> Job:
    """failed → queued, with a fresh set of attempts."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.state != Job.State.FAILED:
            raise JobNotFailed(details={"state": job.state})
        job.state, job.attempts, job.progress, job.message = Job.State.QUEUED, 0, 0, ""
        job.failed_reason, job.finished_on, job.started_at, job.run_at = "", None, None, None
        job.save(
            update_fields=[
                "state",
                "attempts",
                "progress",
                "message",
                "failed_reason",
                "finished_on",
                "started_at",
                "run_at",
            ]
        )
        entries_create([job])
    return job


def job_cancel(*, job: Job) -> Job:
    """queued / scheduled / retrying → cancelled; a running job cannot be cancelled.

    Locks the queue entry before the job, the order in which a worker claiming
    the job locks them (jobs/runner.py): the other order could deadlock with it."""
    with transaction.atomic():
        list(QueueEntry.objects.select_for_update().filter(job_id=job.pk).values_list("pk", flat=True))
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.state not in Job.WAITING_STATES:
            raise JobNotCancellable(details={"state": job.state})
        QueueEntry.objects.filter(job=job).delete()
        job.state, job.finished_on = Job.State.CANCELLED, timezone.now()
        job.save(update_fields=["state", "finished_on"])
    return job


def tenant_jobs_hold(*, tenant) -> int:
    """The tenant is being suspended (in the caller's transaction): its queued,
    scheduled and retrying jobs wait, keeping their state and attempts; a job
    leased but not started yet goes back to waiting when a worker tries to claim
    it; a job already running finishes. Jobs queued meanwhile are held too, and
    the tenant's schedules do not fire (jobs/schedules.py). Returns the entries held."""
    with connection.cursor() as cursor:
        cursor.execute(HOLD, [tenant.pk])
        return cursor.rowcount


def tenant_jobs_release(*, tenant) -> int:
    """The tenant is being reactivated: its held jobs run again (within a tick, in
    fair order), and its schedules resume at their next time from now (the runs
    that fell in the suspension are skipped, not made up). Returns the entries released."""
    from .schedules import tenant_schedules_reschedule

    with connection.cursor() as cursor:
        cursor.execute(RELEASE, [tenant.pk])
        released = cursor.rowcount
    tenant_schedules_reschedule(tenant=tenant)
    return released


def job_failure_notify(
    *, job_id: int, task: str, tenant_id, user_id: int | None, attempts: int, reason: str, critical: bool
) -> None:
    """After a job's last attempt failed: tell the enqueuer and the tenant's
    admins (a stored notification and a live event each), and the operators
    when the task is critical. Runs in the transaction that records the failure."""
    if critical or tenant_id is None:
        logger.error(
            "job %s (%s) of tenant %s failed after %s attempt(s): %s", job_id, task, tenant_id, attempts, reason
        )
    if tenant_id is None:
        return
    from realtime.engine.publish import notify_user
    from realtime.services import notification_create
    from tenants.models import MANAGER_ROLES, Tenant
    from tenants.selectors import people_memberships

    tenant = Tenant.objects.get(pk=tenant_id)
    admins = set(  # the tenant's people, not its API keys' service accounts
        people_memberships(tenant=tenant).filter(role__in=MANAGER_ROLES).values_list("user_id", flat=True)
    )
    recipients = admins | ({user_id} if user_id else set())
    data = {"job": job_id, "task": task, "attempts": attempts, "reason": reason[:500]}
    previous = connection.schema_name
    connection.set_tenant(tenant)
    try:
        for recipient in sorted(recipients):
            notification_create(user_id=recipient, event="job.failed", data=data)
            notify_user(recipient, "job.failed", data, tenant=tenant)
    finally:
        if previous == "public":
            connection.set_schema_to_public()
