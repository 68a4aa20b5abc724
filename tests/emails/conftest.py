import time

import pytest

from jobs.models import Job
from tests.factories import member_make, token_make

ACME, GLOBEX = "acme.localhost", "globex.localhost"


@pytest.fixture
def mailbox(smtp_server):
    """The session SMTP server's mailbox, emptied; the server is up again after the test."""
    smtp_server.start()
    smtp_server.mailbox.clear()
    yield smtp_server.mailbox
    smtp_server.start()


@pytest.fixture
def people(acme, globex):
    """acme: its owner, an admin and a member; globex: its owner."""
    admin = member_make(acme, role="admin", email="admin@acme.test")
    member = member_make(acme, email="member@acme.test")
    return {"admin": admin, "admin_token": token_make(admin), "member": member, "member_token": token_make(member)}


def job_where(timeout: float = 10, **filters) -> Job:
    """The first job matching `filters` once one exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.filter(**filters).order_by("id").first()
        if job:
            return job
        time.sleep(0.05)
    raise AssertionError(f"no job {filters} after {timeout} s")
