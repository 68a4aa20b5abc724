"""The settings package (config/settings/): reading it makes nothing, and what a process is comes
from its environment, never from its command line."""

from __future__ import annotations

import os
import subprocess
import sys

from jobs.apps import PREPARE_THRESHOLD
from jobs.services import job_enqueue
from tests.helpers import job_wait
from tests.live import ROOT

# A process that would once have taken itself for a qcluster from its command line.
CONNECTION_PROBE = """
import sys
sys.argv = ["manage.py", "qcluster"]
import django
django.setup()
from django.db import connection
connection.ensure_connection()
print(connection.connection.prepare_threshold, connection.settings_dict["CONN_HEALTH_CHECKS"])
"""


def python(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "JOBS_QCLUSTER_PROCESS"}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )


def test_reading_the_settings_and_setting_django_up_makes_no_folder(tmp_path):
    data = tmp_path / "data"
    read = python(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.FILE_UPLOAD_TEMP_DIR, settings.EMAIL_FILE_PATH)",
        PLATFORM_DATA_DIR=str(data),
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.split() == [str(data / "tmp"), str(data / "emails")]
    assert not data.exists()


def test_a_process_is_a_qcluster_by_its_environment_not_its_command_line():
    plain = python(CONNECTION_PROBE)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.split() == ["None", "True"]  # Django's: no prepared statements, health checks

    told = python(CONNECTION_PROBE, JOBS_QCLUSTER_PROCESS="1")
    assert told.returncode == 0, told.stderr
    assert told.stdout.split() == [str(PREPARE_THRESHOLD), "False"]


def test_the_qcluster_the_tests_start_is_told_what_it_is(committed, qcluster, acme):
    job = job_wait(job_enqueue(acme, "test.connection_setup"))

    assert (job.state, job.result) == ("completed", {"prepare_threshold": PREPARE_THRESHOLD, "health_checks": False})


def test_the_web_application_refuses_to_start_in_a_qcluster_environment():
    """A qcluster's commits do not wait for the WAL flush: a web server acknowledging a revoke
    or a suspension that way could lose it in a crash. The ASGI app refuses the variable."""
    started = python("import config.asgi")
    refused = python("import config.asgi", JOBS_QCLUSTER_PROCESS="1")

    assert started.returncode == 0, started.stderr
    assert refused.returncode != 0 and "JOBS_QCLUSTER_PROCESS is set" in refused.stderr
