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
    from jobs.models import Job, QueueEntry

    QueueEntry.objects.all().delete()
    deadline = time.monotonic() + 15
    while Job.objects.filter(state="active").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
