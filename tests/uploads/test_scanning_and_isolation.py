"""Scanning through clamd's protocol, tenant isolation of files, and the cleanup job."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from jobs.maintenance import maintenance_run
from tests.helpers import error_code
from uploads.cleanup import uploads_cleanup
from uploads.models import File, PendingUpload
from uploads.pipeline.scanning import EICAR, ClamdScanner
from uploads.pipeline.storage import object_store, uploads_prefix

from .clamd import FakeClamd
from .conftest import ACME, GLOBEX, PDF, file_rows, image_bytes, stored_keys
from .presigning import post_to, presign


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_with_clamav_configured_uploads_are_scanned_by_clamd(uploader, people, acme, settings, tmp_path, transport):
    with FakeClamd(str(tmp_path / "clamd.sock") if transport == "unix" else None) as clamd:
        settings.UPLOADS = {**settings.UPLOADS, "CLAMAV_URL": clamd.url}
        clean = uploader.file(people["member"], "a.png", image_bytes())
        infected = uploader.file(people["member"], "b.png", image_bytes() + EICAR)

    assert clean.status_code == 201
    assert (infected.status_code, error_code(infected)) == (422, "malware_detected")
    assert infected.json()["error"]["details"]["signature"] == "Eicar-Signature"
    assert clamd.server.commands == [b"zINSTREAM\0", b"zINSTREAM\0"]
    assert stored_keys(acme) == [clean.json()["key"]]


def test_an_unreachable_clamd_refuses_the_upload_rather_than_keep_it_unscanned(uploader, people, acme, settings):
    settings.UPLOADS = {**settings.UPLOADS, "CLAMAV_URL": "tcp://127.0.0.1:9"}

    response = uploader.file(people["member"], "a.png", image_bytes())

    assert (response.status_code, error_code(response)) == (503, "scanner_unavailable")
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_clamav_url_must_name_a_unix_socket_or_tcp():
    with pytest.raises(ValueError):
        ClamdScanner("http://clamav:3310")


def test_a_member_of_globex_cannot_reach_acmes_files_even_with_their_id_or_key(api, uploader, people, acme, globex):
    file = uploader.file(people["member"], "secret.pdf", PDF).json()
    presigned = presign(api, people["member"])
    post_to(uploader, presigned.json(), PDF)
    globex_token = people["globex"]

    assert api.get("/api/files", host=GLOBEX, token=globex_token).json()["count"] == 0
    for method, path in [
        ("get", f"/api/files/{file['id']}"),
        ("get", f"/api/files/{file['id']}/download"),
        ("delete", f"/api/files/{file['id']}"),
    ]:
        response = getattr(api, method)(path, host=GLOBEX, token=globex_token)
        assert (response.status_code, error_code(response)) == (404, "file_not_found"), path
    for key in (file["key"], presigned.json()["file_key"]):
        response = api.post("/api/upload/confirm", host=GLOBEX, token=globex_token, json={"file_key": key})
        assert (response.status_code, error_code(response)) == (404, "upload_not_found")
    # nor on acme's host, nor naming acme by header
    assert error_code(api.get(f"/api/files/{file['id']}", host=ACME, token=globex_token)) == "not_a_member"
    assert (
        error_code(api.get(f"/api/files/{file['id']}", token=globex_token, headers={"X-Tenant-ID": "acme"}))
        == "not_a_member"
    )
    assert len(stored_keys(acme)) == 2 and file_rows(acme) == [(file["key"], "ready")]


def test_cleanup_removes_presigns_never_confirmed_after_an_hour_and_orphaned_objects(api, uploader, people, acme):
    kept = uploader.file(people["member"], "kept.pdf", PDF).json()
    uploaded = presign(api, people["member"]).json()
    post_to(uploader, uploaded, PDF)  # uploaded, never confirmed
    never_uploaded = presign(api, people["member"]).json()
    recent = presign(api, people["member"]).json()
    post_to(uploader, recent, PDF)  # too young to be abandoned
    orphan = f"{uploads_prefix(acme)}{'e' * 32}.pdf"  # an object no record names (a failed delete)
    from django.core.files.base import ContentFile

    object_store(orphan, ContentFile(PDF))
    with tenant_context(acme):
        PendingUpload.objects.filter(key__in=[uploaded["file_key"], never_uploaded["file_key"]]).update(
            created_at=timezone.now() - timedelta(minutes=61)
        )

        removed = uploads_cleanup(tenant=acme, now=timezone.now(), sweep=True)

        assert removed == 3  # two presigns, one orphaned object
        assert set(PendingUpload.objects.values_list("key", flat=True)) == {recent["file_key"]}
    assert sorted(stored_keys(acme)) == sorted([kept["key"], recent["file_key"]])
    assert confirm_ok(api, people["member"], recent["file_key"])


def confirm_ok(api, token, key) -> bool:
    return api.post("/api/upload/confirm", host=ACME, token=token, json={"file_key": key}).status_code == 201


def test_the_nightly_maintenance_runs_the_orphaned_files_step_in_every_tenant(api, uploader, people, acme, globex):
    from django.core.files.base import ContentFile

    for tenant in (acme, globex):
        object_store(f"{uploads_prefix(tenant)}{'f' * 32}.pdf", ContentFile(PDF))
    kept = uploader.file(people["globex"], "kept.pdf", PDF, host=GLOBEX).json()

    result = maintenance_run()

    assert result["removed"]["orphaned_files"] == 2
    assert stored_keys(acme) == [] and stored_keys(globex) == [kept["key"]]


def test_a_file_stuck_pending_for_an_hour_is_removed_with_its_object(uploader, people, acme):
    file = uploader.file(people["member"], "a.pdf", PDF).json()
    with tenant_context(acme):
        File.objects.filter(pk=file["id"]).update(status="pending", updated_at=timezone.now() - timedelta(hours=2))

        assert uploads_cleanup(tenant=acme, now=timezone.now(), sweep=False) == 1
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_the_cleanup_job_runs_in_its_own_tenant_through_the_real_cluster(committed, qcluster, acme, globex):
    """Enqueued for acme and run by the qcluster (which sets the schema itself): acme's
    orphaned object goes, globex's identical one stays."""
    from django.core.files.base import ContentFile

    from jobs.services import job_enqueue
    from tests.helpers import job_wait, tenant_files_remove

    for tenant in (acme, globex):
        object_store(f"{uploads_prefix(tenant)}{'a' * 32}.pdf", ContentFile(PDF))
    try:
        job = job_wait(job_enqueue(acme, "uploads.cleanup", {"sweep": True}))

        assert job.state == "completed" and job.result == {"removed": 1}
        assert stored_keys(acme) == [] and len(stored_keys(globex)) == 1
    finally:
        for tenant in (acme, globex):
            tenant_files_remove(tenant)
