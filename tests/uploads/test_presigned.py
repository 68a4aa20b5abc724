"""Presign → POST the file to the returned URL with its fields → confirm, on local storage
(the platform-signed URL stands in for S3's presigned POST: the client flow is the same)."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from jobs.models import Job
from tests.helpers import error_code
from uploads.models import PendingUpload
from uploads.pipeline.scanning import EICAR

from .conftest import ACME, GLOBEX, PDF, file_rows, image_bytes, settings_set, stored_keys
from .presigning import confirm, post_to, presign


def test_presign_upload_confirm_then_download(api, uploader, people, acme):
    presigned = presign(api, people["member"]).json()

    assert presigned["method"] == "POST" and presigned["expires_in"] == 300
    assert presigned["upload_url"].startswith(f"http://{ACME}/api/upload/direct/")
    assert presigned["fields"] == {"key": presigned["file_key"], "Content-Type": "application/pdf"}
    assert presigned["file_key"].startswith(f"tenants/{acme.pk}/uploads/") and presigned["file_key"].endswith(".pdf")
    assert post_to(uploader, presigned, PDF).status_code == 204

    confirmed = confirm(api, people["member"], presigned["file_key"])
    assert confirmed.status_code == 201, confirmed.content
    file = confirmed.json()
    assert (file["key"], file["original_name"], file["size"], file["mime_type"], file["status"]) == (
        presigned["file_key"],
        "scan.pdf",
        len(PDF),
        "application/pdf",
        "ready",
    )
    download = api.get(f"/api/files/{file['id']}/download", host=ACME, token=people["member"])
    assert b"".join(download.streaming_content) == PDF


def test_a_presign_schedules_one_cleanup_job_per_hour(api, people, acme):
    presign(api, people["member"])
    presign(api, people["other"])

    job = Job.objects.get(tenant=acme, task="uploads.cleanup")
    assert job.run_at > timezone.now() + timedelta(minutes=60)


@pytest.mark.parametrize(
    "body, status, code",
    [
        (
            {"filename": "tool.exe", "content_type": "application/octet-stream", "size": 10},
            415,
            "file_type_not_allowed",
        ),
        ({"filename": "photo.png", "content_type": "application/pdf", "size": 10}, 415, "file_type_mismatch"),
        ({"filename": "big.pdf", "content_type": "application/pdf", "size": 6 * 1024 * 1024}, 413, "file_too_large"),
        ({"filename": "empty.pdf", "content_type": "application/pdf", "size": 0}, 400, "file_empty"),
        ({"filename": "../../x.pdf", "content_type": "application/pdf", "size": 10}, 400, "filename_invalid"),
        ({"filename": "x\x00.pdf", "content_type": "application/pdf", "size": 10}, 400, "filename_invalid"),
        ({"filename": "x" * 4996 + ".pdf", "content_type": "application/pdf", "size": 10}, 400, "filename_invalid"),
    ],
)
def test_a_presign_is_refused_for_what_the_tenant_would_refuse(api, people, acme, body, status, code):
    response = api.post("/api/upload/presign", host=ACME, token=people["member"], json=body)

    assert (response.status_code, error_code(response)) == (status, code)
    with tenant_context(acme):
        assert not PendingUpload.objects.exists()


def test_a_presign_over_the_quota_is_refused(api, people, acme):
    settings_set(acme, storage_quota_mb=1)
    response = presign(api, people["member"], size=2 * 1024 * 1024)

    assert (response.status_code, error_code(response)) == (403, "storage_quota_exceeded")


def test_the_upload_url_holds_the_presigns_conditions(api, uploader, people, acme):
    settings_set(acme, max_upload_mb=1)
    presigned = presign(api, people["member"]).json()
    forged = {**presigned, "fields": {**presigned["fields"], "key": f"tenants/{acme.pk}/uploads/{'0' * 32}.pdf"}}
    retyped = {**presigned, "fields": {**presigned["fields"], "Content-Type": "text/html"}}
    bad_token = {**presigned, "upload_url": presigned["upload_url"][:-3] + "xyz"}

    assert error_code(post_to(uploader, forged, PDF)) == "upload_url_invalid"
    assert error_code(post_to(uploader, retyped, PDF)) == "upload_url_invalid"
    assert error_code(post_to(uploader, bad_token, PDF)) == "upload_url_invalid"
    too_big = post_to(uploader, presigned, PDF + b"0" * (1024 * 1024))
    assert (too_big.status_code, error_code(too_big)) == (413, "file_too_large")
    assert stored_keys(acme) == []
    assert post_to(uploader, presigned, PDF).status_code == 204
    again = post_to(uploader, presigned, PDF)
    assert (again.status_code, error_code(again)) == (409, "upload_already_received")


def test_confirm_checks_the_content_and_keeps_nothing_refused(api, uploader, people, acme):
    settings_set(acme, allowed_file_types=["pdf", "png", "txt"])
    cases = [
        ("photo.png", "image/png", b"<svg onload=alert(1)>", "file_type_mismatch", 415),
        ("notes.txt", "text/plain", EICAR, "malware_detected", 422),
        ("cut.png", "image/png", image_bytes("PNG", size=(300, 300))[:-40], "invalid_image", 422),
    ]
    for filename, content_type, content, code, status in cases:
        presigned = presign(api, people["member"], filename, content_type, len(content)).json()
        assert post_to(uploader, presigned, content).status_code == 204

        response = confirm(api, people["member"], presigned["file_key"])

        assert (response.status_code, error_code(response)) == (status, code)
        assert stored_keys(acme) == [] and file_rows(acme) == []
        again = confirm(api, people["member"], presigned["file_key"])
        assert (again.status_code, error_code(again)) == (409, "upload_already_confirmed")


def test_confirm_before_any_upload_or_twice_or_by_someone_else(api, uploader, people, acme):
    presigned = presign(api, people["member"]).json()
    key = presigned["file_key"]

    assert error_code(confirm(api, people["member"], key)) == "upload_not_found"  # nothing uploaded yet
    post_to(uploader, presigned, PDF)
    not_theirs = confirm(api, people["other"], key)
    assert (not_theirs.status_code, error_code(not_theirs)) == (404, "upload_not_found")
    assert confirm(api, people["member"], key).status_code == 201
    assert error_code(confirm(api, people["member"], key)) == "upload_already_confirmed"
    assert error_code(confirm(api, people["member"], f"tenants/{acme.pk}/uploads/../../x")) == "upload_not_found"


def test_a_direct_upload_larger_than_its_presign_declared_is_refused_as_it_arrives(api, uploader, people, acme):
    settings_set(acme, allowed_file_types=["pdf", "txt"])
    presigned = presign(api, people["member"], "notes.txt", "text/plain", 100).json()

    response = post_to(uploader, presigned, b"a" * 300_000)  # well under the tenant's 5 MB

    assert (response.status_code, error_code(response)) == (413, "file_too_large")
    assert response.json()["error"]["details"]["max_bytes"] == 100
    assert stored_keys(acme) == []
    assert error_code(confirm(api, people["member"], presigned["file_key"])) == "upload_not_found"
    assert post_to(uploader, presigned, b"a" * 100).status_code == 204  # the declared size itself is fine


def test_confirm_refuses_an_object_larger_than_declared_and_deletes_it(api, people, acme):
    """However it got there (S3 with a lax policy, a copy, a bug): confirm measures the object."""
    from uploads.pipeline.storage import object_store

    presigned = presign(api, people["member"], size=len(PDF)).json()
    with tenant_context(acme):
        object_store(presigned["file_key"], io.BytesIO(PDF + b"%" * 5000))

    response = confirm(api, people["member"], presigned["file_key"])

    assert (response.status_code, error_code(response)) == (413, "file_too_large")
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_confirm_records_the_real_size_up_to_the_declared_one(api, uploader, people, acme):
    presigned = presign(api, people["member"], size=len(PDF) + 5000).json()  # declared generously
    post_to(uploader, presigned, PDF)

    file = confirm(api, people["member"], presigned["file_key"]).json()

    assert file["size"] == len(PDF)
    usage = api.get(f"/api/tenants/{acme.pk}/usage", token=people["owner"]).json()
    assert (usage["storage_bytes"], usage["files"]) == (len(PDF), 1)


def test_a_presign_made_on_one_tenants_host_cannot_be_used_on_anothers(api, uploader, people, acme, globex):
    presigned = presign(api, people["member"]).json()
    path = presigned["upload_url"].removeprefix(f"http://{ACME}")

    response = uploader.post(path, [("file", "x.pdf", PDF)], token=None, host=GLOBEX, fields=presigned["fields"])

    assert (response.status_code, error_code(response)) == (403, "upload_url_invalid")
    assert stored_keys(acme) == [] and stored_keys(globex) == []
