"""A busy worker claims and records jobs in batches (jobs/runner.py: COMPLETE_CLAIM):
each job still gets its own outcome, a worker that dies holding a batch leaves every
job of it to run again, and claimed jobs it does not start go back at once.

In-process, inside the test's transaction (invisible to the session's qcluster)."""

import subprocess

from django.db import connection

from jobs import runner
from jobs.broker import HOST, PostgresBroker
from jobs.models import Job, QueueEntry
from jobs.services import job_build, job_enqueue_many

from .claiming import claim_batch


class Slot:
    """Stands for the qcluster worker process a batch runs in."""

    def __init__(self):
        self.started: list[int] = []

    def job_started(self, claim) -> None:
        self.started.append(claim.job)


def dead_worker() -> str:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return f"{HOST}:{proc.pid}"


def test_a_batch_records_each_jobs_own_result_in_fair_order(db, acme, globex, monkeypatch):
    monkeypatch.setattr(runner, "LOOP_SECONDS", 60)  # however slow this machine is, the worker goes on
    jobs = job_enqueue_many(
        [
            *(job_build(acme, "noop", {"value": i}) for i in range(30)),
            *(job_build(globex, "noop", {"value": 100 + i}) for i in range(30)),
        ]
    )
    first, *_ = claim_batch(1, runner.worker_name())
    slot = Slot()

    runner._Run(slot).go([first])

    done = {j.pk: j for j in Job.objects.filter(pk__in=[j.pk for j in jobs])}
    assert all((j.state, j.attempts, j.progress) == ("completed", 1, 100) for j in done.values())
    assert all(done[j.pk].result == {"value": j.payload["value"]} for j in jobs)
    assert not QueueEntry.objects.filter(job_id__in=done).exists()
    tenants = [done[pk].tenant_id for pk in slot.started[:10]]
    assert tenants.count(acme.pk) == tenants.count(globex.pk) == 5  # the flood of neither holds back the other


def test_a_worker_that_dies_holding_a_batch_leaves_every_job_of_it_to_run_again(db, acme):
    jobs = job_enqueue_many(job_build(acme, "noop", {"value": i}) for i in range(4))
    held = claim_batch(4, dead_worker())  # claimed, then the worker is gone before it records anything
    assert Job.objects.filter(state="active", attempts=1).count() == 4

    with connection.cursor() as cursor:
        PostgresBroker()._reap(cursor)  # the pusher's tick: this host's dead pids lose their leases
    again = claim_batch(4, runner.worker_name())
    runner._Run(Slot()).go(again)

    assert {c.job for c in held} == {c.job for c in again} == {j.pk for j in jobs}
    assert set(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("state", "attempts")) == {("completed", 2)}


def test_claimed_jobs_a_batch_does_not_start_go_back_at_once_with_their_attempt(db, acme):
    job_enqueue_many(job_build(acme, "noop", {"value": i}) for i in range(2))
    claims = claim_batch(2, runner.worker_name())

    runner._release(claims)

    assert set(Job.objects.values_list("state", "attempts", "worker")) == {("queued", 0, "")}
    assert [c.job for c in claim_batch(2, runner.worker_name())] == [c.job for c in claims]  # in their place


def test_after_a_failed_job_the_rest_of_its_batch_is_released_not_run(db, acme):
    jobs = job_enqueue_many([job_build(acme, "test.give_up"), *(job_build(acme, "noop") for _ in range(3))])
    batch = claim_batch(4, runner.worker_name())

    runner._Run(Slot()).go(batch)

    states = dict(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("id", "state"))
    assert states[jobs[0].pk] == "failed"
    assert [states[j.pk] for j in jobs[1:]] == ["queued"] * 3
