"""The S3 path against moto's standalone server over real HTTP: presign → an actual
HTTP POST of the file to the returned URL (httpx) → confirm → download (a redirect to
a signed GET, fetched over HTTP too). (moto does not check signatures or policies:
what the policy says is asserted on the form it returns; confirm re-checks everything.)"""

import base64
import json

import httpx

from tests.helpers import error_code
from uploads.pipeline.scanning import EICAR

from .conftest import ACME, GLOBEX, PDF, file_rows, image_bytes, settings_set, stored_keys


def presign(api, token, filename, content_type, size, host=ACME):
    response = api.post(
        "/api/upload/presign",
        host=host,
        token=token,
        json={"filename": filename, "content_type": content_type, "size": size},
    )
    assert response.status_code == 200, response.content
    return response.json()


def post_to_s3(presigned, content: bytes, filename="upload.bin") -> httpx.Response:
    return httpx.post(
        presigned["upload_url"],
        data=presigned["fields"],
        files={"file": (filename, content, presigned["fields"]["Content-Type"])},
        timeout=10,
    )


def test_presign_post_to_s3_confirm_and_download_through_a_signed_url(api, people, acme, s3_storage):
    content = image_bytes("JPEG", size=(120, 90))
    presigned = presign(api, people["member"], "beach.jpg", "image/jpeg", len(content))

    assert presigned["upload_url"] == f"{s3_storage}/uploads-test"
    assert presigned["fields"]["key"] == presigned["file_key"] and presigned["expires_in"] == 300
    policy = json.loads(base64.b64decode(presigned["fields"]["policy"]))
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert ["content-length-range", 1, len(content)] in policy["conditions"]  # the declared size
    assert {"key": presigned["file_key"]} in policy["conditions"]

    assert post_to_s3(presigned, content).status_code == 204
    confirmed = api.post(
        "/api/upload/confirm", host=ACME, token=people["member"], json={"file_key": presigned["file_key"]}
    )
    assert confirmed.status_code == 201, confirmed.content
    file = confirmed.json()
    assert (file["mime_type"], file["size"], file["status"]) == ("image/jpeg", len(content), "ready")
    assert stored_keys(acme) == [presigned["file_key"]]

    download = api.get(f"/api/files/{file['id']}/download", host=ACME, token=people["member"])
    assert download.status_code == 302
    assert download["Location"].startswith(f"{s3_storage}/uploads-test/{presigned['file_key']}?")
    fetched = httpx.get(download["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == content
    assert fetched.headers["content-type"] == "image/jpeg"
    assert fetched.headers["content-disposition"] == 'attachment; filename="beach.jpg"'


def test_a_multipart_upload_is_stored_in_s3_and_deleted_from_it(
    api, uploader, people, acme, s3_storage, django_capture_on_commit_callbacks
):
    file = uploader.file(people["member"], "doc.pdf", PDF).json()
    assert stored_keys(acme) == [file["key"]]

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/files/{file['id']}", host=ACME, token=people["member"]).status_code == 204
    assert stored_keys(acme) == []


def test_an_infected_or_disguised_object_in_s3_is_refused_at_confirm_and_deleted(api, people, acme, s3_storage):
    settings_set(acme, allowed_file_types=["pdf", "txt", "png"])
    for filename, content_type, content, status, code in [
        ("notes.txt", "text/plain", EICAR, 422, "malware_detected"),
        ("pic.png", "image/png", b"<html><script>alert(1)</script>", 415, "file_type_mismatch"),
    ]:
        presigned = presign(api, people["member"], filename, content_type, len(content))
        assert post_to_s3(presigned, content).status_code == 204
        assert stored_keys(acme) == [presigned["file_key"]]

        response = api.post(
            "/api/upload/confirm", host=ACME, token=people["member"], json={"file_key": presigned["file_key"]}
        )

        assert (response.status_code, error_code(response)) == (status, code)
        assert stored_keys(acme) == [] and file_rows(acme) == []


def test_an_object_larger_than_the_limit_is_refused_at_confirm(api, people, acme, s3_storage):
    """moto ignores the policy's content-length-range (S3 would refuse the POST); confirm measures."""
    settings_set(acme, max_upload_mb=1)
    presigned = presign(api, people["member"], "big.pdf", "application/pdf", 1000)
    assert post_to_s3(presigned, PDF + b"0" * (1024 * 1024)).status_code == 204

    response = api.post(
        "/api/upload/confirm", host=ACME, token=people["member"], json={"file_key": presigned["file_key"]}
    )

    assert (response.status_code, error_code(response)) == (413, "file_too_large")
    assert stored_keys(acme) == []


def test_an_object_larger_than_its_presign_declared_is_refused_at_confirm(api, people, acme, s3_storage):
    """Under the tenant's limit, over the declared size: S3 refuses the POST by its policy
    (moto does not check it); confirm refuses the object whatever let it through."""
    presigned = presign(api, people["member"], "notes.pdf", "application/pdf", 100)
    assert post_to_s3(presigned, PDF + b"0" * 300_000).status_code == 204

    response = api.post(
        "/api/upload/confirm", host=ACME, token=people["member"], json={"file_key": presigned["file_key"]}
    )

    assert (response.status_code, error_code(response)) == (413, "file_too_large")
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_another_tenants_member_cannot_confirm_an_s3_key(api, people, acme, globex, s3_storage):
    presigned = presign(api, people["member"], "doc.pdf", "application/pdf", len(PDF))
    post_to_s3(presigned, PDF)

    response = api.post(
        "/api/upload/confirm", host=GLOBEX, token=people["globex"], json={"file_key": presigned["file_key"]}
    )

    assert (response.status_code, error_code(response)) == (404, "upload_not_found")
    assert file_rows(globex) == [] and stored_keys(acme) == [presigned["file_key"]]
