"""The queue's order (jobs/queue_sql.py), below any qcluster: priority first, then
each tenant's virtual time; leases; the virtual clock. Both ways of taking work
are checked the same way: the broker's dequeue (PostgresBroker.lease, what the
pusher runs) and the runner's complete-and-claim-next (COMPLETE_CLAIM, what a
busy worker runs).

In-process, inside the test's transaction, on the real PostgreSQL. The queue
table is locked for the test (a session qcluster, if one runs, waits), so
nothing else moves the virtual clock meanwhile: it is a sequence, outside
transactions."""

from __future__ import annotations

import pytest
from django.db import connection

from jobs import q2, queue_sql, runner
from jobs.broker import GRACE_SECONDS, PostgresBroker
from jobs.models import Job, QueueEntry
from jobs.services import job_build, job_enqueue_many


@pytest.fixture(autouse=True)
def queue_to_ourselves(db):
    """An empty queue no other process writes to until the test ends (rolled back)."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {queue_sql.QUEUE} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {queue_sql.QUEUE}")


def enqueue(tenant, n: int = 1, *, priority: str = "default") -> list[int]:
    """n jobs of `tenant`, queued in this order; their ids."""
    return [
        j.pk for j in job_enqueue_many(job_build(tenant, "noop", {"value": i}, priority=priority) for i in range(n))
    ]


def clock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value FROM {queue_sql.VCLOCK}")
        return cursor.fetchone()[0]


def vts(job_ids) -> list[int | None]:
    by_job = dict(QueueEntry.objects.filter(job_id__in=job_ids).values_list("job_id", "vt"))
    return [by_job[j] for j in job_ids]


def lease_expire(job_ids) -> None:
    """Their leases ran out (now() is the transaction's start: a lease is set in the past)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {queue_sql.QUEUE} SET leased_until = now() - interval '1 second' WHERE job_id = ANY(%s)",
            [list(job_ids)],
        )


class Dequeue:
    """Takes work as the broker's pusher does."""

    def take(self, n: int = 1, *, complete: bool = True) -> list[int]:  # `complete`: the pusher completes nothing
        return [row[1] for row in PostgresBroker.lease(n)]


class Claim:
    """Takes work as a busy worker does: the jobs it took before are completed in the
    statement that claims the next ones (unless `complete=False`: still running)."""

    def __init__(self):
        self.running: list[runner.Claim] = []

    def take(self, n: int = 1, *, complete: bool = True) -> list[int]:
        done = self.running if complete else []
        rows = runner._sql_all(
            runner.COMPLETE_CLAIM[runner.claim_size(n)],
            {
                "jobs": [c.job for c in done],
                "entries": [c.entry for c in done],
                "attempts": [c.attempt for c in done],
                "results": ["null" for _ in done],
                "worker": runner.worker_name(),
            },
        )
        claims = [runner.Claim(*row[:9]) for row in rows]
        self.running = ([] if complete else self.running) + claims
        return [c.job for c in claims]


@pytest.fixture(params=["dequeue", "claim"])
def taker(request):
    return Dequeue() if request.param == "dequeue" else Claim()


def take_all(taker, count: int) -> list[int]:
    """Jobs taken one at a time, `count` times."""
    return [job for _ in range(count) for job in taker.take(1)]


# --- priority ------------------------------------------------------------------------------------


def test_higher_priorities_are_taken_first_each_in_the_order_it_was_queued(acme, taker):
    low = enqueue(acme, 2, priority="low")
    default = enqueue(acme, 2)
    high = enqueue(acme, 2, priority="high")

    assert take_all(taker, 6) == [*high, *default, *low]
    assert taker.take(1) == []


def test_a_batch_is_taken_and_returned_in_priority_order(acme):
    low, default, high = enqueue(acme, priority="low"), enqueue(acme), enqueue(acme, priority="high")

    assert Dequeue().take(3) == [*high, *default, *low]


def test_the_broker_hands_django_q2_its_jobs_in_priority_order(acme):
    low, high = enqueue(acme, priority="low"), enqueue(acme, priority="high")
    broker = PostgresBroker()
    broker._last_tick = float("inf")  # no tick: no scheduler, no promotion, no reaping in this test

    packages = broker.dequeue()

    tasks = [q2.task_unpack(package) for ack_id, package in packages]
    assert [ack_id for ack_id, _ in packages] == [0, 0]  # the runner deletes the entry itself
    assert [t["args"][0] for t in tasks] == [*high, *low]
    assert {t["func"] for t in tasks} == {"jobs.runner.job_run"}
    assert [t["args"][2] for t in tasks] == [1, 1]  # the delivery the worker's claim must match


def test_a_busy_worker_takes_no_worse_job_while_a_better_one_waits_in_the_task_queue(acme):
    high = enqueue(acme, priority="high")
    default = enqueue(acme, 3)
    assert Dequeue().take(1) == high  # leased by the pusher, in django-q2's task queue

    assert Claim().take(4) == []  # a busy worker would run default jobs ahead of it
    entry = QueueEntry.objects.get(job_id=high[0]).pk
    row = runner._sql(queue_sql.CLAIM, {"entry": entry, "delivery": 1, "job": high[0], "worker": runner.worker_name()})
    worker = Claim()
    worker.running = [runner.Claim(high[0], entry, *row)]  # a worker got it and ran it
    assert worker.take(4) == default  # its completion lets the default jobs go


# --- fairness ------------------------------------------------------------------------------------


def test_a_tenant_that_floods_the_queue_queues_behind_itself(acme, globex, taker):
    flood = enqueue(acme, 10)
    few = enqueue(globex, 3)

    taken = take_all(taker, 6)

    assert taken == [flood[0], few[0], flood[1], few[1], flood[2], few[2]]
    assert take_all(taker, 7) == flood[3:]


def test_a_tenant_arriving_later_waits_for_the_clock_not_for_the_backlog(acme, globex, taker):
    backlog = enqueue(acme, 20)
    take_all(taker, 5)  # the clock is at the 5th of them now

    late = enqueue(globex)

    assert take_all(taker, 2) == [backlog[5], *late]  # not after the other 15


def test_a_bulk_enqueue_is_interleaved_tenant_by_tenant(acme, globex):
    jobs = job_enqueue_many(
        [*(job_build(acme, "noop") for _ in range(3)), *(job_build(globex, "noop") for _ in range(3))]
    )
    a, g = [j.pk for j in jobs[:3]], [j.pk for j in jobs[3:]]

    taken = Dequeue().take(6)

    # equal vts: which tenant goes first within a round is the entries' id order, not specified
    assert [set(taken[i : i + 2]) for i in (0, 2, 4)] == [{a[0], g[0]}, {a[1], g[1]}, {a[2], g[2]}]


# --- leases --------------------------------------------------------------------------------------


def test_a_live_lease_is_not_taken_again_an_expired_one_is(acme, taker):
    job = enqueue(acme)

    assert taker.take(1) == job
    assert taker.take(1, complete=False) == []  # still running
    lease_expire(job)

    assert taker.take(1, complete=False) == job
    assert QueueEntry.objects.get(job_id=job[0]).deliveries == 2
    if isinstance(taker, Claim):
        assert Job.objects.get(pk=job[0]).attempts == 2  # at least once: the lost attempt counts


def test_a_lease_lasts_the_jobs_timeout_plus_the_grace(acme, taker):
    job = enqueue(acme)
    taker.take(1)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT leased_until - now() FROM {queue_sql.QUEUE} WHERE job_id = %s", job)
        ((length,),) = cursor.fetchall()
    assert length.total_seconds() == Job.objects.get(pk=job[0]).timeout + GRACE_SECONDS


def test_a_delivery_whose_lease_ran_out_and_was_handed_on_cannot_claim_its_job(acme):
    job = enqueue(acme)
    Dequeue().take(1)
    lease_expire(job)
    Dequeue().take(1)  # delivery 2
    entry = QueueEntry.objects.get(job_id=job[0]).pk

    def claim(delivery: int):
        return runner._sql(
            queue_sql.CLAIM, {"entry": entry, "delivery": delivery, "job": job[0], "worker": runner.worker_name()}
        )

    assert claim(1) is None
    assert claim(2) is not None
    assert Job.objects.get(pk=job[0]).attempts == 1


def test_a_held_entry_is_never_taken(acme, taker):
    job = enqueue(acme)
    with connection.cursor() as cursor:
        cursor.execute(queue_sql.HOLD, [acme.pk])

    assert taker.take(1) == []
    assert vts(job) == [None]


# --- the virtual clock ---------------------------------------------------------------------------


def test_taking_work_moves_the_clock_up_to_the_newest_vt_taken(acme, taker):
    jobs = enqueue(acme, 3)
    start = clock()
    assert vts(jobs) == [start + 1, start + 2, start + 3]

    taker.take(2)

    assert clock() == start + 2


def test_the_clock_never_moves_back(acme, taker):
    jobs = enqueue(acme, 3)
    assert taker.take(2) == jobs[:2]
    high_water = clock()
    lease_expire(jobs[:1])  # an older entry comes back (its worker died)

    assert taker.take(1, complete=False) == jobs[:1]
    assert clock() == high_water


def test_a_new_entry_is_stamped_after_the_clock_and_after_its_tenants_last(acme, globex):
    start = clock()
    first = enqueue(acme, 4)
    Dequeue().take(1)  # clock: start + 1

    later = enqueue(acme)
    other = enqueue(globex)

    assert vts(first) == [start + 1, start + 2, start + 3, start + 4]
    assert vts(later) == [start + 5]  # behind its own backlog
    assert vts(other) == [start + 2]  # right after the clock


def test_a_delayed_entry_gets_its_vt_when_it_comes_due(acme, globex):
    delayed = job_enqueue_many([job_build(acme, "noop", delay=60)])[0].pk
    assert vts([delayed]) == [None] and Job.objects.get(pk=delayed).state == "scheduled"
    enqueue(globex, 3)
    Dequeue().take(2)  # the clock moves on meanwhile

    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {queue_sql.QUEUE} SET ready_at = now() - interval '1 second' WHERE job_id = %s", [delayed]
        )
        cursor.execute(queue_sql.PROMOTE)  # the pusher's tick
        assert cursor.fetchone() == (1, 1)  # one entry stamped, one job queued

    assert vts([delayed]) == [clock() + 1]
    assert Job.objects.get(pk=delayed).state == "queued"
