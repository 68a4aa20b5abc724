"""Jobs run through a real qcluster, in their tenant's schema, in priority and fair order."""

import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from jobs.models import Job
from jobs.runner import BATCH_MAX
from jobs.services import job_build, job_enqueue, job_enqueue_many
from realtime.models import Room

from .conftest import job_wait


def test_two_tenants_jobs_run_in_parallel_each_in_its_own_schema(committed, qcluster, acme, globex):
    jobs = [
        job_enqueue(tenant, "test.room_create", {"name": f"{tenant.slug}-{i}"})
        for i in range(3)
        for tenant in (acme, globex)
    ]

    finished = [job_wait(job) for job in jobs]

    assert {job.state for job in finished} == {"completed"}
    for tenant in (acme, globex):
        with tenant_context(tenant):
            assert sorted(Room.objects.values_list("name", flat=True)) == [f"{tenant.slug}-{i}" for i in range(3)]


def test_a_completed_job_records_its_result_attempts_and_times(committed, qcluster, acme):
    job = job_wait(job_enqueue(acme, "noop", {"value": 7}))

    assert (job.state, job.result, job.attempts, job.progress) == ("completed", {"value": 7}, 1, 100)
    assert job.created_at <= job.started_at <= job.finished_on
    assert not hasattr(job, "entry") or job.entry is None


def test_a_high_priority_job_starts_before_ten_thousand_default_jobs_queued_ahead(
    committed, qcluster, flood_drained, acme
):
    # Jobs of 2 ms keep the flood at ~1k/s on two workers, so a loaded machine's scheduling jitter
    # around the high job's INSERT is worth a few jobs, not hundreds.
    job_enqueue_many(job_build(acme, "test.sleep", {"seconds": 0.002}) for _ in range(10_000))
    high = job_enqueue(acme, "noop", {"value": -1}, priority="high")

    high = job_wait(high)

    # Counted from the moment the high job exists: what started before it did not overtake anything. Once it is queued, only what was already taken may start ahead of it: per
    # worker the job django-q2 handed it and one batch it claimed (jobs.runner), plus the pusher's
    # prefetched entries (queue_limit).
    overtaking = Job.objects.filter(tenant=acme, priority=1, started_at__gte=high.created_at)
    started_before = overtaking.filter(started_at__lt=high.started_at).count()
    workers, prefetched = settings.Q_CLUSTER["workers"], settings.Q_CLUSTER["queue_limit"]
    assert started_before <= workers * (1 + BATCH_MAX) + prefetched


def test_a_tenant_flooding_the_queue_does_not_hold_back_another_tenants_job(
    committed, qcluster, flood_drained, acme, globex
):
    job_enqueue_many(job_build(acme, "test.sleep", {"seconds": 0.01}) for _ in range(10_000))
    job_wait(Job.objects.filter(tenant=acme).order_by("id").first(), states=("active", "completed"))

    other = job_wait(job_enqueue(globex, "noop"))

    assert other.started_at - other.created_at < timedelta(seconds=2)
    assert Job.objects.filter(tenant=acme, state="queued").count() > 9_000  # the flood is still waiting


def test_a_delayed_job_is_scheduled_and_runs_only_when_due(committed, qcluster, acme):
    job = job_enqueue(acme, "noop", delay=1.5)
    assert job.state == "scheduled"

    time.sleep(1.0)
    assert Job.objects.get(pk=job.pk).state == "scheduled"
    job = job_wait(job)

    assert job.state == "completed"
    assert job.started_at >= job.created_at + timedelta(seconds=1.5)


def test_a_job_at_run_at_waits_until_then(committed, qcluster, acme):
    run_at = timezone.now() + timedelta(seconds=1)
    job = job_wait(job_enqueue(acme, "noop", run_at=run_at))

    assert job.started_at >= run_at
