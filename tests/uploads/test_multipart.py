"""POST /api/upload, /api/upload/multiple, /api/upload/image on local storage, and the files API."""

import hashlib

from django_tenants.utils import tenant_context

from tests.helpers import error_code
from uploads.models import File

from .conftest import ACME, GLOBEX, PDF, file_rows, image_bytes, settings_set, stored_keys


def test_a_member_uploads_a_png_and_gets_its_record_back(api, uploader, people, acme):
    content = image_bytes("PNG")
    response = uploader.file(people["member"], "holiday photo.png", content)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["original_name"] == "holiday photo.png"
    assert (body["size"], body["mime_type"], body["status"]) == (len(content), "image/png", "ready")
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["uploaded_by"] == people["member_user"].pk
    assert body["key"].startswith(f"tenants/{acme.pk}/uploads/") and body["key"].endswith(".png")
    assert "holiday" not in body["key"]
    assert stored_keys(acme) == [body["key"]]
    assert body["download_url"] == f"http://{ACME}/api/files/{body['id']}/download"


def test_the_client_content_type_is_ignored_and_the_sniffed_one_kept(uploader, people, acme):
    response = uploader.post("/api/upload", [("file", "doc.pdf", PDF, "text/html")], token=people["member"])

    assert response.status_code == 201, response.content
    assert response.json()["mime_type"] == "application/pdf"


def test_files_are_listed_read_downloaded_and_deleted(api, uploader, people, acme, django_capture_on_commit_callbacks):
    content = image_bytes("JPEG")
    file = uploader.file(people["member"], "a.jpg", content).json()
    uploader.file(people["member"], "b.pdf", PDF)

    listing = api.get("/api/files", host=ACME, token=people["other"]).json()
    assert listing["count"] == 2 and [f["original_name"] for f in listing["results"]] == ["b.pdf", "a.jpg"]
    assert api.get(f"/api/files/{file['id']}", host=ACME, token=people["other"]).json() == file

    download = api.get(f"/api/files/{file['id']}/download", host=ACME, token=people["other"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["Content-Type"] == "image/jpeg"
    assert download["Content-Disposition"] == 'attachment; filename="a.jpg"'
    assert download["X-Content-Type-Options"] == "nosniff"

    with django_capture_on_commit_callbacks(execute=True):
        deleted = api.delete(f"/api/files/{file['id']}", host=ACME, token=people["member"])
    assert deleted.status_code == 204
    assert file["key"] not in stored_keys(acme) and len(stored_keys(acme)) == 1
    assert error_code(api.get(f"/api/files/{file['id']}", host=ACME, token=people["member"])) == "file_not_found"


def test_the_files_status_filter_takes_only_a_status(api, uploader, people):
    """`?status=%00` reached PostgreSQL (no NUL in text): a 500 (fuzzing). Any value but a status is a 400."""
    uploader.file(people["member"], "a.png", image_bytes())
    assert api.get("/api/files?status=pending", host=ACME, token=people["member"]).json()["count"] == 0
    for value in ("%00", "ready%00", "bogus", "READY"):
        response = api.get(f"/api/files?status={value}", host=ACME, token=people["member"])
        assert response.status_code == 400, (value, response.content[:200])
        assert error_code(response) == "validation_error" and "status" in response.json()["error"]["details"]


def test_only_the_uploader_or_an_admin_deletes_a_file(api, uploader, people, django_capture_on_commit_callbacks):
    file = uploader.file(people["member"], "a.png", image_bytes()).json()

    refused = api.delete(f"/api/files/{file['id']}", host=ACME, token=people["other"])
    assert (refused.status_code, error_code(refused)) == (403, "insufficient_role")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/files/{file['id']}", host=ACME, token=people["owner"]).status_code == 204


def test_several_files_are_stored_together(uploader, people, acme):
    parts = [("files", f"p{i}.png", image_bytes(color=(i, i, i))) for i in range(3)] + [("files", "d.pdf", PDF)]
    response = uploader.post("/api/upload/multiple", parts, token=people["member"])

    assert response.status_code == 201, response.content
    assert [f["original_name"] for f in response.json()["files"]] == ["p0.png", "p1.png", "p2.png", "d.pdf"]
    assert len(stored_keys(acme)) == 4


def test_one_bad_file_among_several_refuses_them_all_naming_it(uploader, people, acme):
    parts = [
        ("files", "ok.png", image_bytes()),
        ("files", "evil.exe", b"MZ\x90\x00" * 10),
        ("files", "fake.png", b"<html><script>alert(1)</script></html>"),
    ]
    response = uploader.post("/api/upload/multiple", parts, token=people["member"])

    assert (response.status_code, error_code(response)) == (400, "files_invalid")
    assert [(f["index"], f["file"], f["code"]) for f in response.json()["error"]["details"]["files"]] == [
        (1, "evil.exe", "file_type_not_allowed"),
        (2, "fake.png", "file_type_mismatch"),
    ]
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_more_than_ten_files_are_too_many(uploader, people, acme):
    parts = [("files", f"p{i}.png", image_bytes()) for i in range(11)]
    response = uploader.post("/api/upload/multiple", parts, token=people["member"])

    assert (response.status_code, error_code(response)) == (400, "too_many_files")
    assert response.json()["error"]["details"]["max_files"] == 10
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_an_image_is_stored_with_a_processed_jpeg_fitting_800(uploader, people, acme):
    response = uploader.file(
        people["member"], "big.png", image_bytes("PNG", size=(1600, 1200)), field="image", path="/api/upload/image"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["width"], body["height"]) == (800, 600)
    assert body["original"]["mime_type"] == "image/png" and body["processed"]["mime_type"] == "image/jpeg"
    assert body["processed"]["original_name"] == "big-800x600.jpg"
    assert sorted(stored_keys(acme)) == sorted([body["original"]["key"], body["processed"]["key"]])


def test_an_image_that_is_not_one_is_refused_on_the_image_endpoint(uploader, people, acme):
    pdf = uploader.file(people["member"], "doc.pdf", PDF, field="image", path="/api/upload/image")
    truncated = uploader.file(
        people["member"], "cut.jpg", image_bytes("JPEG", size=(300, 200))[:400], field="image", path="/api/upload/image"
    )

    assert (pdf.status_code, error_code(pdf)) == (415, "file_type_not_allowed")
    assert (truncated.status_code, error_code(truncated)) == (422, "invalid_image")
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_a_file_over_the_tenants_limit_is_refused_with_413(uploader, people, acme):
    settings_set(acme, max_upload_mb=1)
    response = uploader.file(people["member"], "big.pdf", PDF + b"0" * (1024 * 1024))

    assert (response.status_code, error_code(response)) == (413, "file_too_large")
    assert response.json()["error"]["details"]["max_bytes"] == 1024 * 1024
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_the_storage_quota_is_checked_before_storing(uploader, people, acme):
    settings_set(acme, storage_quota_mb=1, max_upload_mb=1)
    first = uploader.file(people["member"], "a.pdf", PDF + b"0" * 700_000)
    second = uploader.file(people["member"], "b.pdf", PDF + b"0" * 400_000)

    assert first.status_code == 201
    assert (second.status_code, error_code(second)) == (403, "storage_quota_exceeded")
    assert stored_keys(acme) == [first.json()["key"]]


def test_usage_reports_the_bytes_and_files_stored(
    api, uploader, people, acme, globex, django_capture_on_commit_callbacks
):
    sizes = [
        len(uploader.file(people["member"], f"f{i}.pdf", PDF + b"x" * i * 1000).json() and PDF) + i * 1000
        for i in range(3)
    ]
    uploader.file(people["globex"], "g.pdf", PDF, host=GLOBEX)
    with tenant_context(acme):
        first = File.objects.order_by("created_at").first()
    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/api/files/{first.pk}", host=ACME, token=people["owner"])

    usage = api.get(f"/api/tenants/{acme.pk}/usage", token=people["owner"]).json()
    assert (usage["storage_bytes"], usage["files"]) == (sum(sizes[1:]), 2)
    with tenant_context(acme):
        assert usage["storage_bytes"] == sum(File.objects.values_list("size", flat=True))


def test_uploads_per_user_are_rate_limited_by_the_tenant_setting(uploader, people, acme):
    settings_set(acme, uploads_per_minute=2)
    codes = [uploader.file(people["member"], "a.pdf", PDF).status_code for _ in range(3)]
    other = uploader.file(people["other"], "a.pdf", PDF)

    assert codes == [201, 201, 429]
    assert other.status_code == 201  # per user


def test_a_non_member_cannot_upload(uploader, people, acme):
    response = uploader.file(people["globex"], "a.pdf", PDF)

    assert (response.status_code, error_code(response)) == (403, "not_a_member")
    assert stored_keys(acme) == []
