"""Operators: the admin lists jobs, failures and live workers; qinfo keeps working."""

import re
import subprocess
import sys
import time

import pytest
from django.test import Client

from jobs.models import Job
from jobs.services import job_enqueue
from tests.factories import user_make
from tests.live import ROOT, QCluster

from .conftest import job_wait


@pytest.fixture
def operator_client(db):
    client = Client(HTTP_HOST="localhost")
    client.force_login(user_make("ops@platform.test", is_staff=True, is_superuser=True))
    return client


def test_the_admin_lists_critical_failures_with_their_reason(operator_client, acme):
    job = job_enqueue(acme, "noop")
    Job.objects.filter(pk=job.pk).update(state="failed", critical=True, failed_reason="Traceback…\nKeyError: 'x'")
    job_enqueue(acme, "noop")

    page = operator_client.get("/admin/jobs/job/?critical_failure=yes")

    assert page.status_code == 200
    assert [j.pk for j in page.context["cl"].result_list] == [job.pk]
    assert "KeyError: &#x27;x&#x27;" in page.content.decode()


def test_the_admin_shows_the_qcluster_workers_alive(committed, qcluster, operator_client, acme):
    job_wait(job_enqueue(acme, "noop"))  # the cluster is up
    deadline = time.monotonic() + 5  # each test empties Redis; the cluster re-reports every 0.5 s
    while "No qcluster is running" in (page := operator_client.get("/admin/jobs/job/").content.decode()):
        assert time.monotonic() < deadline, "the admin never showed a live qcluster"
        time.sleep(0.1)

    assert "qcluster workers alive" in page


def test_qinfo_reports_the_postgresql_broker_and_the_queue(committed, acme):
    for _ in range(3):
        job_enqueue(acme, "noop", delay=60)  # waiting: a running test qcluster leaves them alone

    result = subprocess.run(
        [sys.executable, "manage.py", "qinfo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**QCluster().env, "TERM": "dumb"},
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "PostgreSQL (jobs.broker.PostgresBroker)" in result.stdout
    assert re.search(r"Queued\D*0", result.stdout)  # ready entries only; the delayed ones are not due
