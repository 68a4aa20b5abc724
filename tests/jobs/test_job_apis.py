"""The job endpoints: who sees what, retry/cancel rules, bad input that enqueues nothing."""

import pytest
from django.utils import timezone

from jobs.models import Job, QueueEntry
from jobs.services import job_enqueue
from tests.factories import member_make, token_make, user_make


def _as_failed(job):
    Job.objects.filter(pk=job.pk).update(state="failed", failed_reason="boom", attempts=3, finished_on=timezone.now())
    QueueEntry.objects.filter(job=job).delete()
    return Job.objects.get(pk=job.pk)


@pytest.fixture
def member(acme):
    user = member_make(acme)
    user.token = token_make(user)
    return user


def test_a_member_sees_their_own_jobs_and_an_admin_sees_all_of_the_tenants(api, acme, member):
    mine = job_enqueue(acme, "noop", user=member)
    theirs = job_enqueue(acme, "noop", user=acme.owner)

    as_member = api.get("/api/jobs", host="acme.localhost", token=member.token).json()
    as_owner = api.get("/api/jobs", host="acme.localhost", token=acme.owner_token).json()

    assert [j["id"] for j in as_member["results"]] == [mine.pk]
    assert [j["id"] for j in as_owner["results"]] == [theirs.pk, mine.pk]


def test_a_job_reads_with_its_state_progress_and_attempts(api, acme):
    job = job_enqueue(acme, "noop", {"value": 3}, user=acme.owner)

    body = api.get(f"/api/jobs/{job.pk}", host="acme.localhost", token=acme.owner_token).json()

    assert body["id"] == job.pk and body["task"] == "noop" and body["state"] == "queued"
    assert {k: body[k] for k in ("progress", "attempts", "max_attempts", "priority", "failed_reason", "result")} == {
        "progress": 0,
        "attempts": 0,
        "max_attempts": 3,
        "priority": "default",
        "failed_reason": "",
        "result": None,
    }
    assert set(body) >= {"created_at", "started_at", "finished_on", "message"}


def test_the_list_filters_by_state_and_refuses_an_unknown_state(api, acme):
    queued = job_enqueue(acme, "noop")
    _as_failed(job_enqueue(acme, "noop"))

    listed = api.get("/api/jobs?state=queued", host="acme.localhost", token=acme.owner_token).json()
    bad = api.get("/api/jobs?state=sleeping", host="acme.localhost", token=acme.owner_token)

    assert [j["id"] for j in listed["results"]] == [queued.pk]
    assert bad.status_code == 400 and bad.json()["error"]["details"]["state"]


def test_globex_cannot_read_retry_or_cancel_an_acme_job(api, acme, globex):
    job = job_enqueue(acme, "noop", user=acme.owner)

    for method, path in [("get", ""), ("post", "/retry"), ("post", "/cancel")]:
        response = getattr(api, method)(f"/api/jobs/{job.pk}{path}", host="globex.localhost", token=globex.owner_token)
        assert response.status_code == 404 and response.json()["error"]["code"] == "job_not_found"
    assert Job.objects.get(pk=job.pk).state == "queued"


def test_a_failed_job_is_retried_with_fresh_attempts(api, acme):
    job = _as_failed(job_enqueue(acme, "noop", user=acme.owner))

    response = api.post(f"/api/jobs/{job.pk}/retry", host="acme.localhost", token=acme.owner_token)

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["attempts"], response.json()["failed_reason"]) == (
        "queued",
        0,
        "",
    )
    assert QueueEntry.objects.filter(job=job).exists()


def test_only_a_failed_job_can_be_retried(api, acme):
    job = job_enqueue(acme, "noop", user=acme.owner)

    response = api.post(f"/api/jobs/{job.pk}/retry", host="acme.localhost", token=acme.owner_token)

    assert response.status_code == 409 and response.json()["error"]["code"] == "job_not_failed"
    assert QueueEntry.objects.filter(job=job).count() == 1


def test_a_waiting_job_is_cancelled_and_leaves_the_queue(api, acme):
    job = job_enqueue(acme, "noop", delay=60, user=acme.owner)

    response = api.post(f"/api/jobs/{job.pk}/cancel", host="acme.localhost", token=acme.owner_token)

    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert not QueueEntry.objects.filter(job=job).exists()


@pytest.mark.parametrize("state", ["active", "completed", "failed"])
def test_a_running_or_finished_job_cannot_be_cancelled(api, acme, state):
    job = job_enqueue(acme, "noop", user=acme.owner)
    Job.objects.filter(pk=job.pk).update(state=state)

    response = api.post(f"/api/jobs/{job.pk}/cancel", host="acme.localhost", token=acme.owner_token)

    assert response.status_code == 409 and response.json()["error"]["code"] == "job_not_cancellable"
    assert Job.objects.get(pk=job.pk).state == state


def test_queue_stats_count_this_tenants_jobs_only(api, acme, globex):
    job_enqueue(acme, "noop")
    job_enqueue(acme, "noop", delay=60)
    _as_failed(job_enqueue(acme, "noop"))
    job_enqueue(globex, "noop")

    stats = api.get("/api/queue/stats", host="acme.localhost", token=acme.owner_token).json()

    assert stats == {"waiting": 1, "active": 0, "scheduled": 1, "completed": 0, "failed": 1, "cancelled": 0}


def test_operators_get_platform_wide_stats_and_others_do_not(api, acme, globex):
    job_enqueue(acme, "noop")
    job_enqueue(globex, "noop")
    operator = user_make("ops@example.com", is_staff=True)

    stats = api.get("/api/queue/stats", token=token_make(operator)).json()
    refused = api.get("/api/queue/stats", token=acme.owner_token)

    assert stats["total"]["waiting"] == 2
    assert {t["slug"]: t["waiting"] for t in stats["tenants"]} == {"acme": 1, "globex": 1}
    assert refused.status_code == 403


def test_an_admin_starts_an_exposed_task_and_the_same_key_returns_the_same_job(api, acme):
    body = {"task": "noop", "payload": {"value": 1}, "priority": "high", "idempotency_key": "k1"}

    first = api.post("/api/jobs", host="acme.localhost", token=acme.owner_token, json=body)
    again = api.post("/api/jobs", host="acme.localhost", token=acme.owner_token, json=body)

    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"] and first.json()["priority"] == "high"
    assert Job.objects.count() == 1


@pytest.mark.parametrize(
    "body, code",
    [
        ({"task": "no.such.task"}, "task_unknown"),
        ({"task": "test.room_create", "payload": {"name": "x"}}, "task_unknown"),  # exists, but not open to the API
        ({"task": "noop", "payload": {"value": "many"}}, "payload_invalid"),
        ({"task": "noop", "payload": {"surprise": 1}}, "payload_invalid"),
        ({"task": "noop", "delay": -5}, "schedule_invalid"),
        ({"task": "noop", "delay": 31 * 24 * 3600}, "schedule_invalid"),
        ({"task": "noop", "run_at": "2020-01-01T00:00:00Z"}, "schedule_invalid"),
        ({"task": "noop", "priority": "urgent"}, "validation_error"),
    ],
)
def test_bad_job_requests_get_their_code_and_enqueue_nothing(api, acme, body, code):
    response = api.post("/api/jobs", host="acme.localhost", token=acme.owner_token, json=body)

    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert Job.objects.count() == QueueEntry.objects.count() == 0


@pytest.mark.parametrize("delay", [1e20, 1e308, -1e20, "1e20", 10**30])
def test_a_delay_too_large_for_any_clock_is_a_400_naming_the_field(api, acme, delay):
    """1e20 s overflows a timedelta: the range is checked on the number, before it becomes one."""
    response = api.post(
        "/api/jobs", host="acme.localhost", token=acme.owner_token, json={"task": "noop", "delay": delay}
    )

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "schedule_invalid" and "delay" in response.json()["error"]["details"]
    assert Job.objects.count() == QueueEntry.objects.count() == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"task": "noop", "delay": "nan"}, "delay"),
        ({"task": "noop", "delay": "Infinity"}, "delay"),
        ({"task": "noop", "run_at": "9999-12-31T23:59:59-01:00"}, "run_at"),  # past year 9999 in UTC
        ({"task": "noop", "run_at": "0001-01-01T00:00:00+01:00"}, "run_at"),
        ({"task": "noop", "payload": {"value": 1e300}}, "value"),
    ],
)
def test_numbers_and_dates_out_of_any_range_are_a_400_naming_the_field(api, acme, body, field):
    response = api.post("/api/jobs", host="acme.localhost", token=acme.owner_token, json=body)

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert Job.objects.count() == 0


def test_a_plain_member_cannot_start_jobs(api, acme, member):
    response = api.post("/api/jobs", host="acme.localhost", token=member.token, json={"task": "noop"})

    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_role"
    assert response.json()["error"]["details"] == {"required": ["owner", "admin"]}  # as every manager-only route
    assert Job.objects.count() == 0
