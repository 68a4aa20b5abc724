"""Tasks only the tests run (settings_test adds this module to JOBS_TASK_MODULES)."""

from __future__ import annotations

import time

from jobs.registry import Payload, job_task
from realtime.models import Room


class RoomPayload(Payload):
    name: str


@job_task("test.room_create", schema=RoomPayload, timeout=10, max_attempts=1)
def room_create(job, payload: RoomPayload):
    """Writes into whatever schema the runner activated."""
    room = Room.objects.create(name=payload.name, is_private=False)
    return {"room": room.pk, "rooms_here": Room.objects.count()}


class SleepPayload(Payload):
    seconds: float
    marker: str = ""


@job_task("test.sleep", schema=SleepPayload, timeout=10, max_attempts=3, backoff=0.2)
def sleep(job, payload: SleepPayload):
    job.progress(10, "sleeping")
    time.sleep(payload.seconds)
    return {"slept": payload.seconds, "attempt": job.attempt}


class FlakyPayload(Payload):
    fail_times: int


@job_task("test.flaky", schema=FlakyPayload, timeout=10, max_attempts=3, backoff=0.3)
def flaky(job, payload: FlakyPayload):
    if job.attempt <= payload.fail_times:
        raise RuntimeError(f"failing attempt {job.attempt}")
    return {"attempt": job.attempt}


@job_task("test.hang", timeout=1, max_attempts=1)
def hang(job, payload):
    time.sleep(30)


class StepsPayload(Payload):
    steps: int


@job_task("test.steps", schema=StepsPayload, timeout=20, max_attempts=1)
def steps(job, payload: StepsPayload):
    for step in range(1, payload.steps + 1):
        time.sleep(0.25)
        job.progress(100 * step / payload.steps, f"step {step}")
    return {"steps": payload.steps}


@job_task("test.give_up", timeout=10, max_attempts=5, backoff=0.2)
def give_up(job, payload):
    from jobs.runner import JobFailure

    raise JobFailure("the input can never work", retry=False)


@job_task("test.connection_setup", timeout=10, max_attempts=1)
def connection_setup(job, payload):
    """How the worker's database connection is set up (jobs/apps.py tunes a qcluster's)."""
    from django.db import connection

    return {
        "prepare_threshold": connection.connection.prepare_threshold,
        "health_checks": connection.settings_dict["CONN_HEALTH_CHECKS"],
    }
