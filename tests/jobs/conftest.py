"""The session `qcluster` fixture lives in tests/conftest.py and `job_wait` in
tests/helpers.py (reports, imports and uploads use them too)."""

import time

import pytest

from tests.helpers import job_wait  # noqa: F401  (re-exported for `from .conftest import job_wait`)


@pytest.fixture
def flood_drained():
    """For tests that leave thousands of jobs queued: afterwards the queue is
    emptied and the running jobs finish before the tables are truncated (a
    TRUNCATE racing the runner's outcome statements could deadlock)."""
    yield
    from django.db import connection

    from jobs.models import Job, QueueEntry

    # Entries a worker holds (claiming or recording a batch) are skipped, not
    # waited for: waiting on them while holding others could deadlock with it.
    deadline = time.monotonic() + 15
    with connection.cursor() as cursor:
        while QueueEntry.objects.filter(job__isnull=False).exists() and time.monotonic() < deadline:
            cursor.execute(
                "DELETE FROM jobs_queueentry WHERE id IN (SELECT id FROM jobs_queueentry FOR UPDATE SKIP LOCKED)"
            )
    while Job.objects.filter(state="active").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
