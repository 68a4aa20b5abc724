"""The tenant's `features` switch whole capabilities off (tenants.access):
every route of one answers 403 feature_disabled and changes nothing; the
data it made stays readable; the other capabilities carry on."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from jobs.models import Job
from tenants.models import Tenant
from tests.helpers import error_code, tenant_files_remove

pytestmark = pytest.mark.django_db

HOST = "acme.localhost"
PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
)


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


def send(api, tenant, method, path, body=None, multipart=None):
    """As the tenant's owner, on its host: a JSON body, or a multipart one."""
    if multipart is not None:
        return api.client.post(
            path, multipart, format="multipart", HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {tenant.owner_token}"
        )
    return api.request(method, path, host=HOST, token=tenant.owner_token, json=body)


def features_set(tenant, **features):
    tenant = Tenant.objects.get(pk=tenant.pk)
    tenant.settings = {**tenant.settings, "features": {**tenant.settings.get("features", {}), **features}}
    tenant.save()


@pytest.fixture
def files_cleaned(acme):
    yield
    tenant_files_remove(acme)


# (capability, method, path, json body, multipart body); every route a capability has
ROUTES = [
    ("uploads", "POST", "/api/upload", None, lambda: {"file": SimpleUploadedFile("a.pdf", PDF, "application/pdf")}),
    (
        "uploads",
        "POST",
        "/api/upload/multiple",
        None,
        lambda: {"files": [SimpleUploadedFile("a.pdf", PDF, "application/pdf")]},
    ),
    ("uploads", "POST", "/api/upload/image", None, lambda: {"image": SimpleUploadedFile("a.png", png(), "image/png")}),
    (
        "uploads",
        "POST",
        "/api/upload/presign",
        {"filename": "a.pdf", "content_type": "application/pdf", "size": len(PDF)},
        None,
    ),
    ("jobs", "POST", "/api/jobs", {"task": "noop", "payload": {}}, None),
    ("jobs", "POST", "/api/reports", {"kind": "members"}, None),
    (
        "jobs",
        "POST",
        "/api/imports",
        None,
        lambda: {"file": SimpleUploadedFile("m.csv", b"email,role\nowner@acme.test,member\n", "text/csv")},
    ),
    (
        "jobs",
        "POST",
        "/api/send-email",
        {"to": ["someone@example.com"], "subject": "Hi", "template": "generic", "context": {"body": "Hello"}},
        None,
    ),
    ("realtime", "POST", "/api/realtime/ticket", None, None),
    ("realtime", "POST", "/api/realtime/announcements", {"text": "hello"}, None),
    ("realtime", "GET", "/api/events", None, None),
]


def stored_anything(acme) -> bool:
    from reports.models import Report
    from uploads.models import File, PendingUpload

    with tenant_context(acme):
        return (
            File.objects.exists() or PendingUpload.objects.exists() or Report.objects.exists() or Job.objects.exists()
        )


@pytest.mark.parametrize(
    "capability, method, path, body, multipart", ROUTES, ids=[f"{r[0]}:{r[1]} {r[2]}" for r in ROUTES]
)
def test_every_route_of_a_switched_off_capability_is_403_feature_disabled(
    api, acme, files_cleaned, capability, method, path, body, multipart
):
    features_set(acme, **{capability: False})
    response = send(api, acme, method, path, body, multipart() if multipart else None)
    assert response.status_code == 403
    assert error_code(response) == "feature_disabled"
    assert response.json()["error"]["details"] == {"feature": capability}
    assert not stored_anything(acme)


@pytest.mark.parametrize(
    "capability, method, path, body, multipart",
    [r for r in ROUTES if r[2] != "/api/events"],
    ids=[f"{r[0]}:{r[1]} {r[2]}" for r in ROUTES if r[2] != "/api/events"],
)
def test_the_other_capabilities_are_not_touched_by_a_switch(
    api, acme, files_cleaned, capability, method, path, body, multipart
):
    features_set(acme, **{other: False for other in ("realtime", "uploads", "jobs") if other != capability})
    response = send(api, acme, method, path, body, multipart() if multipart else None)
    assert response.status_code in (200, 201, 202), response.content


def test_an_anonymous_caller_is_refused_too(api, acme):
    features_set(acme, uploads=False)
    response = api.client.post(
        "/api/upload", {"file": SimpleUploadedFile("a.pdf", PDF, "application/pdf")}, format="multipart", HTTP_HOST=HOST
    )
    assert response.status_code == 403 and error_code(response) == "feature_disabled"


def test_a_presign_made_before_uploads_were_switched_off_can_neither_upload_nor_confirm(api, acme, files_cleaned):
    presigned = send(
        api,
        acme,
        "POST",
        "/api/upload/presign",
        {"filename": "a.pdf", "content_type": "application/pdf", "size": len(PDF)},
    ).json()
    features_set(acme, uploads=False)
    path = presigned["upload_url"].removeprefix(f"http://{HOST}")
    direct = api.client.post(
        path, {**presigned["fields"], "file": SimpleUploadedFile("a.pdf", PDF)}, format="multipart", HTTP_HOST=HOST
    )
    confirm = send(api, acme, "POST", "/api/upload/confirm", {"file_key": presigned["file_key"]})
    assert [error_code(direct), error_code(confirm)] == ["feature_disabled"] * 2
    features_set(acme, uploads=True)  # the presign itself is still good once switched back on
    assert (
        api.client.post(
            path, {**presigned["fields"], "file": SimpleUploadedFile("a.pdf", PDF)}, format="multipart", HTTP_HOST=HOST
        ).status_code
        == 204
    )
    assert send(api, acme, "POST", "/api/upload/confirm", {"file_key": presigned["file_key"]}).status_code == 201


def test_files_already_stored_stay_readable_with_uploads_off(api, acme, files_cleaned):
    made = send(api, acme, "POST", "/api/upload", multipart={"file": SimpleUploadedFile("a.pdf", PDF)}).json()
    features_set(acme, uploads=False)
    assert send(api, acme, "GET", "/api/files").json()["count"] == 1
    assert send(api, acme, "GET", f"/api/files/{made['id']}/download").status_code == 200
    assert send(api, acme, "DELETE", f"/api/files/{made['id']}").status_code == 204


def test_jobs_off_leaves_reading_and_cancelling_but_not_retrying(api, acme):
    job = send(api, acme, "POST", "/api/jobs", {"task": "noop", "payload": {}, "delay": 3600}).json()
    features_set(acme, jobs=False)
    assert send(api, acme, "GET", "/api/jobs").json()["count"] == 1
    assert send(api, acme, "GET", f"/api/jobs/{job['id']}").status_code == 200
    assert error_code(send(api, acme, "POST", f"/api/jobs/{job['id']}/retry")) == "feature_disabled"
    assert send(api, acme, "POST", f"/api/jobs/{job['id']}/cancel").json()["state"] == "cancelled"


def test_rooms_and_messages_stay_usable_over_http_with_realtime_off(api, acme):
    features_set(acme, realtime=False)
    room = send(api, acme, "POST", "/api/rooms", {"name": "general", "is_private": False})
    assert room.status_code == 201
    message = send(api, acme, "POST", f"/api/rooms/{room.json()['id']}/messages", {"body": "hi"})
    assert message.status_code == 201


def test_a_job_accepted_before_jobs_were_switched_off_still_runs(committed, qcluster, api, acme):
    from tests.helpers import job_wait

    job = send(api, acme, "POST", "/api/jobs", {"task": "noop", "payload": {"value": 4}, "delay": 0.5}).json()
    features_set(acme, jobs=False)  # before it is due
    done = job_wait(job["id"])
    assert (done.state, done.result) == ("completed", {"value": 4})
