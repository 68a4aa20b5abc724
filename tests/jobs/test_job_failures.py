"""Retries with backoff, failure with notifications, timeouts, and a worker killed mid-task."""

import os
import signal
import time

from django_tenants.utils import tenant_context

from jobs.models import Job, QueueEntry
from jobs.services import job_build, job_enqueue, job_enqueue_many
from realtime.models import Notification
from tests.factories import member_make

from .conftest import job_wait


def test_a_failing_attempt_is_retried_and_the_job_completes(committed, qcluster, acme):
    job = job_wait(job_enqueue(acme, "test.flaky", {"fail_times": 1}))

    assert (job.state, job.attempts, job.result) == ("completed", 2, {"attempt": 2})


def test_retries_back_off_exponentially_then_the_job_fails_and_people_are_told(committed, qcluster, acme):
    member = member_make(acme)
    job = job_enqueue(acme, "test.flaky", {"fail_times": 99}, user=member)

    job = job_wait(job)

    assert (job.state, job.attempts) == ("failed", 3)
    assert "failing attempt 3" in job.failed_reason
    assert (job.finished_on - job.created_at).total_seconds() >= 0.3 + 0.6  # backoff 0.3 s, then 0.6 s
    assert not QueueEntry.objects.filter(job_id=job.pk).exists()
    with tenant_context(acme):
        told = set(Notification.objects.filter(event="job.failed").values_list("user_id", flat=True))
    assert told == {member.pk, acme.owner.pk}  # the enqueuer and the tenant's admins


def test_a_task_that_gives_up_fails_at_once_without_retries(committed, qcluster, acme):
    job = job_wait(job_enqueue(acme, "test.give_up"))

    assert (job.state, job.attempts, job.failed_reason) == ("failed", 1, "the input can never work")


def test_an_attempt_past_its_timeout_is_stopped_and_fails_with_the_reason(committed, qcluster, acme):
    job = job_wait(job_enqueue(acme, "test.hang"), timeout=10)

    assert job.state == "failed"
    assert job.failed_reason == "timed out after 1 s"
    assert (job.finished_on - job.started_at).total_seconds() < 5


def test_a_job_a_busy_worker_takes_itself_is_timed_out_on_its_own(committed, qcluster, acme):
    """Behind 30 no-ops the hang is claimed by a worker running jobs back to back
    (jobs/runner.py: COMPLETE_CLAIM), past django-q2's one timeout per task."""
    jobs = job_enqueue_many([*(job_build(acme, "noop", {"value": i}) for i in range(30)), job_build(acme, "test.hang")])

    hang = job_wait(jobs[-1], timeout=10)

    assert (hang.state, hang.attempts, hang.failed_reason) == ("failed", 1, "timed out after 1 s")
    assert (hang.finished_on - hang.started_at).total_seconds() < 5
    assert Job.objects.filter(pk__in=[j.pk for j in jobs[:-1]], state="completed", attempts=1).count() == 30


def test_a_worker_killed_mid_task_leaves_its_job_to_run_again(committed, qcluster, acme):
    job = job_enqueue(acme, "test.sleep", {"seconds": 2})
    job = job_wait(job, states=("active",))
    pid = int(job.worker.rsplit(":", 1)[1])

    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    job = job_wait(job, timeout=20)

    assert (job.state, job.attempts) == ("completed", 2)
    assert job.result == {"slept": 2.0, "attempt": 2}
    assert time.monotonic() - killed_at < 8  # re-delivered at once (dead pid), not after the lease
    assert Job.objects.filter(pk=job.pk, worker="").exists()
