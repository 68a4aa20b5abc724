"""What a claim costs the database (jobs/models.py: QueueEntry, jobs/runner.py:
COMPLETE_CLAIM): a lease rewrites no indexed column, and a batch's statement is
planned once per connection, not at every batch.

In-process, inside the test's transaction (invisible to the session's qcluster)."""

from django.db import connection

from jobs import runner
from jobs.services import job_build, job_enqueue_many

from .claiming import claim_batch


def entry_updates() -> tuple[int, int]:
    """(updates, HOT updates) of queue entries in this transaction so far."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated('jobs_queueentry'::regclass),"
            " pg_stat_get_xact_tuples_hot_updated('jobs_queueentry'::regclass)"
        )
        return cursor.fetchone()


def test_leasing_and_releasing_entries_are_hot_updates_that_write_no_index_entry(db, acme):
    job_enqueue_many(job_build(acme, "noop", {"value": i}) for i in range(4))
    before = entry_updates()

    runner._release(claim_batch(4, runner.worker_name()))

    updated, hot = (after - was for after, was in zip(entry_updates(), before, strict=True))
    assert (updated, hot) == (8, 8)  # 4 leases, 4 releases: every one on its own page, no index touched


def test_a_batch_statement_is_planned_once_and_reused(db, acme, monkeypatch):
    monkeypatch.setattr(connection.connection, "prepare_threshold", 5)  # as on qcluster connections (jobs/apps.py)
    job_enqueue_many(job_build(acme, "noop", {"value": i}) for i in range(2))

    for _ in range(8):
        runner._release(claim_batch(2, runner.worker_name()))

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%LIMIT 2 FOR UPDATE SKIP LOCKED%"],
        )
        ((generic, custom),) = cursor.fetchall()
    assert generic >= 3 and custom <= 5  # PostgreSQL tries 5 custom plans, then keeps the generic one
