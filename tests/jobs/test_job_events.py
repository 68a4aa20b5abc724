"""Progress reaches the enqueuer live; idempotency keys and cron schedules."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django_q.models import Schedule

from jobs.models import Job
from jobs.schedules import cron_next, tenant_schedule_set
from jobs.services import job_enqueue
from tests.realtime.client import connect_member

from .conftest import job_wait


async def test_progress_events_reach_the_enqueuers_socket_then_completion(committed, qcluster, asgi_server, acme):
    from asgiref.sync import sync_to_async

    socket = await connect_member(asgi_server, "acme.localhost", acme.owner_token)

    job = await sync_to_async(job_enqueue)(acme, "test.steps", {"steps": 4}, user=acme.owner)
    progress = [(await socket.event("job.progress", timeout=10))["data"] for _ in range(4)]
    done = (await socket.event("job.completed", timeout=10))["data"]

    assert [p["progress"] for p in progress] == [25, 50, 75, 100]
    assert [p["message"] for p in progress] == ["step 1", "step 2", "step 3", "step 4"]
    assert {p["job"] for p in progress} == {done["job"]} == {job.pk}
    assert done["result"] == {"steps": 4}
    await socket.close()


def test_the_same_idempotency_key_gives_back_the_same_job(db, acme, globex):
    first = job_enqueue(acme, "noop", {"value": 1}, idempotency_key="nightly-2026-11-23")
    again = job_enqueue(acme, "noop", {"value": 2}, idempotency_key="nightly-2026-11-23")
    elsewhere = job_enqueue(globex, "noop", {"value": 1}, idempotency_key="nightly-2026-11-23")

    assert again.pk == first.pk
    assert elsewhere.pk != first.pk
    assert Job.objects.filter(tenant=acme).count() == 1


def test_a_tenant_schedule_runs_at_its_local_time():
    after = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Paris switches to summer time on the 29th

    first = cron_next("0 9 * * *", "Europe/Paris", after)
    second = cron_next("0 9 * * *", "Europe/Paris", first)

    assert first == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert second == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_changing_the_tenants_time_zone_moves_its_schedules_to_the_new_clock(db, api, acme):
    schedule = tenant_schedule_set(tenant=acme, name="morning", task="noop", cron="0 9 * * *")
    assert schedule.next_run.astimezone(ZoneInfo("UTC")).hour == 9  # UTC by default

    api.put(f"/api/tenants/{acme.pk}/settings", token=acme.owner_token, json={"timezone": "Asia/Tokyo"})
    schedule.refresh_from_db()

    assert schedule.next_run.astimezone(ZoneInfo("Asia/Tokyo")).hour == 9
    assert schedule.next_run.astimezone(ZoneInfo("UTC")).hour == 0


def test_a_due_tenant_schedule_fires_once_through_the_platform_cron(committed, qcluster, acme):
    schedule = tenant_schedule_set(tenant=acme, name="ping", task="noop", cron="*/5 * * * *", payload={"value": 5})
    due_at = timezone.now() - timedelta(seconds=1)
    type(schedule).objects.filter(pk=schedule.pk).update(next_run=due_at)
    Schedule.objects.filter(name="tenant-schedules").update(next_run=timezone.now())  # due now, not at :00

    job = job_wait(_first_job(acme, "noop"), timeout=10)
    schedule.refresh_from_db()

    assert (job.state, job.payload) == ("completed", {"value": 5})
    assert schedule.last_job_id == job.pk
    assert schedule.next_run > timezone.now() and schedule.next_run.minute % 5 == 0
    assert Job.objects.filter(tenant=acme, task="noop").count() == 1


def _first_job(tenant, task, timeout=10):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.filter(tenant=tenant, task=task).first()
        if job:
            return job
        time.sleep(0.05)
    raise AssertionError(f"no {task} job for {tenant} after {timeout} s")
