"""A suspended tenant's jobs wait: not lost, not failed, no attempt used; they
run after reactivation. Its schedules do not fire while it is suspended."""

import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from jobs.models import Job, QueueEntry, TenantSchedule
from jobs.runner import job_run
from jobs.schedules import tenant_schedules_run
from jobs.services import job_enqueue
from tenants.audit import SYSTEM
from tenants.services import tenant_reactivate, tenant_suspend

from .conftest import job_wait


def still_waiting(job, seconds: float = 2.5) -> Job:
    """The job after `seconds` of a running cluster (at least two broker ticks)."""
    time.sleep(seconds)
    return Job.objects.get(pk=job.pk)


def test_a_job_queued_before_the_suspension_waits_and_runs_after_reactivation(committed, qcluster, acme, globex):
    with transaction.atomic():  # queued, and the tenant suspended before any worker saw it
        job = job_enqueue(acme, "noop", {"value": 1})
        tenant_suspend(tenant=acme, actor=SYSTEM)
    other = job_wait(job_enqueue(globex, "noop"))

    waiting = still_waiting(job)

    assert other.state == "completed"  # the cluster runs, for the others
    assert (waiting.state, waiting.attempts, waiting.started_at) == ("queued", 0, None)
    tenant_reactivate(tenant=acme, actor=SYSTEM)
    done = job_wait(job)
    assert (done.state, done.attempts, done.result) == ("completed", 1, {"value": 1})


def test_a_delayed_job_of_a_suspended_tenant_does_not_run_when_due(committed, qcluster, acme):
    job = job_enqueue(acme, "noop", delay=0.5)
    tenant_suspend(tenant=acme, actor=SYSTEM)

    waiting = still_waiting(job)

    assert (waiting.state, waiting.attempts) == ("scheduled", 0)
    tenant_reactivate(tenant=acme, actor=SYSTEM)
    assert job_wait(job).attempts == 1


def test_a_job_queued_while_the_tenant_is_suspended_waits_too(committed, qcluster, acme):
    tenant_suspend(tenant=acme, actor=SYSTEM)
    job = job_enqueue(acme, "noop", {"value": 2})  # e.g. work a platform job queues for the tenant

    assert still_waiting(job).state == "queued"
    tenant_reactivate(tenant=acme, actor=SYSTEM)
    assert (job_wait(job).state, job_wait(job).attempts) == ("completed", 1)


def test_a_job_leased_just_before_the_suspension_goes_back_to_waiting_without_using_an_attempt(
    committed, qcluster, acme
):
    with transaction.atomic():  # leased to "a worker" before the cluster can see it
        job = job_enqueue(acme, "noop", {"value": 3})
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE jobs_queueentry SET leased_until = now() + interval '1 hour', deliveries = 1"
                " WHERE job_id = %s RETURNING id",
                [job.pk],
            )
            (entry_id,) = cursor.fetchone()
    tenant_suspend(tenant=acme, actor=SYSTEM)

    job_run(job.pk, entry_id, 1)  # what that worker runs once the task reaches it

    job.refresh_from_db()
    entry = QueueEntry.objects.get(pk=entry_id)
    assert (job.state, job.attempts, job.started_at) == ("queued", 0, None)
    assert entry.held and entry.leased_until is None  # not left waiting for the hour-long lease
    tenant_reactivate(tenant=acme, actor=SYSTEM)
    done = job_wait(job)
    assert (done.state, done.attempts) == ("completed", 1)


def test_a_suspended_tenants_schedule_does_not_fire_and_resumes_at_its_next_time(committed, acme):
    schedule = TenantSchedule.objects.create(
        tenant=acme, name="every-minute", task="noop", cron="* * * * *", next_run=timezone.now() - timedelta(minutes=5)
    )
    tenant_suspend(tenant=acme, actor=SYSTEM)

    tenant_schedules_run()

    assert not Job.objects.filter(tenant=acme).exists()
    tenant_reactivate(tenant=acme, actor=SYSTEM)
    schedule.refresh_from_db()
    assert schedule.next_run > timezone.now()  # the missed runs are skipped, not made up
