"""Reports are built by a real qcluster into CSV files of the tenant's own data."""

import csv
import io
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from jobs.models import Job
from realtime.models import Message, Room
from reports.models import Report
from tenants.models import AuditEvent
from tests.helpers import error_code, job_wait

ACME, GLOBEX = "acme.localhost", "globex.localhost"


def report_ask(api, token, kind, params=None, host=ACME):
    response = api.post("/api/reports", host=host, token=token, json={"kind": kind, "params": params or {}})
    assert response.status_code == 202, response.content
    return response.json()


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_an_admin_gets_a_csv_of_the_tenants_members_built_with_progress(committed, qcluster, api, people):
    asked = report_ask(api, people["admin_token"], "members")

    job = job_wait(asked["job_id"])
    assert (job.state, job.progress, job.task) == ("completed", 100, "report.generate")
    assert (job.max_attempts, job.timeout) == (3, 300)
    report = api.get(f"/api/reports/{asked['report_id']}", host=ACME, token=people["admin_token"]).json()
    assert report["state"] == "completed" and report["rows"] == 3 and report["progress"] == 100
    assert report["job_id"] == asked["job_id"] and report["finished_at"]
    assert report["download_url"] == f"http://{ACME}/api/reports/{asked['report_id']}/download"

    download = api.get(report["download_url"].removeprefix(f"http://{ACME}"), host=ACME, token=people["admin_token"])
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert (
        download["Content-Disposition"].startswith("attachment; filename=")
        and ".csv" in download["Content-Disposition"]
    )
    rows = csv_rows(download)
    assert {(r["email"], r["role"]) for r in rows} == {
        ("owner@acme.test", "owner"),
        ("admin@acme.test", "admin"),
        ("member@acme.test", "member"),
    }
    assert all(r["joined"].startswith(str(timezone.now().year)) for r in rows)
    assert not any("globex" in r["email"] for r in rows)


def test_the_activity_report_counts_the_tenants_audit_events_and_messages_per_day(
    committed, qcluster, api, people, acme, globex
):
    today = timezone.now().date()
    with tenant_context(acme):
        room = Room.objects.create(name="general")
        for body in ("one", "two"):
            Message.objects.create(room=room, body=body)
        old = Message.objects.create(room=room, body="two days ago")
        Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    with tenant_context(globex):
        room = Room.objects.create(name="general")
        Message.objects.bulk_create([Message(room=room, body=str(n)) for n in range(5)])
    acme_audit_today = AuditEvent.objects.filter(tenant=acme, created_at__date=today).count()
    assert acme_audit_today >= 1  # tenant.create at least

    since = (today - timedelta(days=3)).isoformat()
    asked = report_ask(api, people["admin_token"], "activity", {"since": since, "until": today.isoformat()})

    assert job_wait(asked["job_id"]).state == "completed"
    report = api.get(f"/api/reports/{asked['report_id']}", host=ACME, token=people["admin_token"]).json()
    assert report["params"] == {"since": since, "until": today.isoformat()} and report["rows"] == 4
    rows = csv_rows(api.get(f"/api/reports/{asked['report_id']}/download", host=ACME, token=people["admin_token"]))
    assert rows == [
        {"date": (today - timedelta(days=3)).isoformat(), "audit_events": "0", "messages": "0"},
        {"date": (today - timedelta(days=2)).isoformat(), "audit_events": "0", "messages": "1"},
        {"date": (today - timedelta(days=1)).isoformat(), "audit_events": "0", "messages": "0"},
        {"date": today.isoformat(), "audit_events": str(acme_audit_today), "messages": "2"},
    ]


def test_another_tenant_cannot_read_or_download_a_report(committed, qcluster, api, people, globex):
    asked = report_ask(api, people["admin_token"], "members")
    assert job_wait(asked["job_id"]).state == "completed"

    for path in (f"/api/reports/{asked['report_id']}", f"/api/reports/{asked['report_id']}/download"):
        response = api.get(path, host=GLOBEX, token=globex.owner_token)
        assert response.status_code == 404 and error_code(response) == "report_not_found"
    assert api.get("/api/reports", host=GLOBEX, token=globex.owner_token).json()["count"] == 0
    job = api.get(f"/api/jobs/{asked['job_id']}", host=GLOBEX, token=globex.owner_token)
    assert job.status_code == 404


def test_a_member_sees_only_the_reports_they_asked_for(api, people, acme):
    asked = report_ask(api, acme.owner_token, "members")

    for path in (f"/api/reports/{asked['report_id']}", f"/api/reports/{asked['report_id']}/download"):
        response = api.get(path, host=ACME, token=people["member_token"])
        assert response.status_code == 404 and error_code(response) == "report_not_found"
    assert api.get("/api/reports", host=ACME, token=people["member_token"]).json()["count"] == 0
    assert api.get("/api/reports", host=ACME, token=people["admin_token"]).json()["count"] == 1


def test_a_report_waiting_for_its_job_is_queued_and_has_nothing_to_download(api, people, acme):
    asked = report_ask(api, acme.owner_token, "members")

    report = api.get(f"/api/reports/{asked['report_id']}", host=ACME, token=acme.owner_token).json()
    assert (report["state"], report["progress"], report["download_url"], report["rows"]) == ("queued", 0, None, None)
    download = api.get(f"/api/reports/{asked['report_id']}/download", host=ACME, token=acme.owner_token)
    assert download.status_code == 409 and error_code(download) == "report_not_ready"


def test_bad_requests_are_refused_with_their_code_and_queue_nothing(api, people, acme):
    today = timezone.now().date()
    cases = [
        ({"kind": "salaries"}, 400, "report_kind_unknown"),
        ({"kind": "members", "params": {"since": "2026-01-01"}}, 400, "report_params_invalid"),
        ({"kind": "members", "params": ["not", "an", "object"]}, 400, "report_params_invalid"),
        ({"kind": "activity", "params": {"since": "yesterday"}}, 400, "report_params_invalid"),
        (
            {
                "kind": "activity",
                "params": {"since": today.isoformat(), "until": (today - timedelta(days=1)).isoformat()},
            },
            400,
            "report_params_invalid",
        ),
        (
            {
                "kind": "activity",
                "params": {"until": today.isoformat(), "since": (today - timedelta(days=400)).isoformat()},
            },
            400,
            "report_params_invalid",
        ),
        ({"params": {}}, 400, "validation_error"),
    ]
    for body, status, code in cases:
        response = api.post("/api/reports", host=ACME, token=acme.owner_token, json=body)
        assert (response.status_code, error_code(response)) == (status, code), body
    as_member = api.post("/api/reports", host=ACME, token=people["member_token"], json={"kind": "members"})
    assert as_member.status_code == 403 and error_code(as_member) == "insufficient_role"
    assert Job.objects.count() == 0
    with tenant_context(acme):
        assert Report.objects.count() == 0


def test_bad_params_name_the_field_at_fault(api, people, acme):
    response = api.post(
        "/api/reports",
        host=ACME,
        token=acme.owner_token,
        json={"kind": "activity", "params": {"since": "2026-13-01", "colour": "red"}},
    )
    assert set(response.json()["error"]["details"]) == {"since", "colour"}
