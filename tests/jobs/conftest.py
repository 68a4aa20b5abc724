import time

import pytest

from jobs.models import Job
from tests.live import QCluster


@pytest.fixture(scope="session")
def qcluster(django_db_setup):
    """One real `manage.py qcluster` for the session, on the test database."""
    cluster = QCluster().start()
    yield cluster
    cluster.stop()


def job_wait(job_or_id, *, states=Job.FINISHED_STATES, timeout: float = 15) -> Job:
    """The job once it reaches one of `states` (fails the test after `timeout` s)."""
    job_id = getattr(job_or_id, "pk", job_or_id)
    deadline = time.monotonic() + timeout
    while True:
        job = Job.objects.get(pk=job_id)
        if job.state in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job.state} after {timeout} s ({job.failed_reason})")
        time.sleep(0.05)
