"""POST /api/upload/image decodes an image while its body still arrives (uploads/pipeline/image_streaming.py):
the decode starts on the first bytes, makes exactly the JPEG the complete file makes, and its outcome
waits for every earlier check; a dropped upload stops it."""

from __future__ import annotations

import functools
import io
import os
import threading
import time

import pytest
from PIL import Image

from tenants.models import AuditEvent
from tests.helpers import error_code
from uploads.pipeline import images
from uploads.pipeline.handlers import LimitedUploadHandler
from uploads.pipeline.image_streaming import image_stream_start
from uploads.pipeline.scanning import EICAR
from uploads.pipeline.storage import upload_storage

from .clamd import FakeClamd
from .conftest import file_rows, settings_set, stored_keys

CHUNK = LimitedUploadHandler.chunk_size


def photo(fmt: str = "JPEG", size=(1600, 1200)) -> bytes:
    """Noise: big enough (~1 MB and more) to arrive in several chunks."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, fmt, quality=90)
    return out.getvalue()


def receiving(name: str, allowed=("jpg", "jpeg", "png", "webp")) -> LimitedUploadHandler:
    handler = LimitedUploadHandler(
        None,
        fields=("image",),
        max_bytes=50 * 1024 * 1024,
        on_head=functools.partial(image_stream_start, allowed=list(allowed)),
    )
    handler.new_file("image", name, "application/octet-stream", None)
    return handler


def until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_the_decode_starts_on_the_first_chunk_while_the_rest_has_not_arrived():
    data = photo()
    handler = receiving("photo.jpg")

    handler.receive_data_chunk(data[:CHUNK], 0)
    stream = handler.current.image_stream

    assert stream is not None
    assert until(lambda: stream.reader.tell() >= CHUNK // 2), "the decoder reads the bytes already in"
    assert not stream._done.is_set()  # it waits for the rest, not at an end
    for start in range(CHUNK, len(data), CHUNK):
        handler.receive_data_chunk(data[start : start + CHUNK], start)
    upload = handler.file_complete(len(data))
    try:
        assert stream.result() == images.image_process(upload.temporary_file_path(), formats=("JPEG",))
    finally:
        upload.close()


@pytest.mark.parametrize("fmt, name", [("JPEG", "photo.jpeg"), ("PNG", "photo.png"), ("WEBP", "photo.webp")])
def test_the_streamed_jpeg_is_byte_for_byte_the_one_made_from_the_complete_file(fmt, name):
    data = photo(fmt, size=(900, 700))
    handler = receiving(name)
    for start in range(0, len(data), CHUNK):
        handler.receive_data_chunk(data[start : start + CHUNK], start)
    upload = handler.file_complete(len(data))
    try:
        made = upload.image_stream.result()
        assert made == images.image_process(upload.temporary_file_path(), formats=(fmt,))
        assert made[1:] == (800, 622)
    finally:
        upload.close()


@pytest.mark.parametrize(
    "name, allowed",
    [
        ("photo.png", ("jpg", "png")),  # a JPEG named .png: a mismatch
        ("photo.jpg", ("png",)),  # a type the tenant does not take
        ("photo.gif", ("gif", "jpg")),
    ],
)  # a type the engine does not take
def test_no_decode_starts_for_what_the_upload_checks_would_refuse(name, allowed):
    handler = receiving(name, allowed)

    handler.receive_data_chunk(photo()[:CHUNK], 0)

    assert handler.current.image_stream is None
    handler.discard()


def test_a_dropped_upload_stops_its_decode():
    handler = receiving("photo.jpg")
    handler.receive_data_chunk(photo()[:CHUNK], 0)
    stream = handler.current.image_stream
    assert until(lambda: stream.reader.tell() > 0)

    handler.discard()  # the body failed midway (the client left, the size cut-off)

    assert until(stream._done.is_set, timeout=5), "the decoding thread ended"
    assert stream.result() is None
    assert not [t for t in threading.enumerate() if t.name == "image-stream" and t.is_alive()]


def decoders_started(monkeypatch) -> list[str]:
    """The name of every Pillow decoder started from now on (any thread)."""
    started: list[str] = []
    real = Image._getdecoder
    monkeypatch.setattr(Image, "_getdecoder", lambda *args: started.append(args[1]) or real(*args))
    return started


def post_image(uploader, people, name: str, content: bytes):
    return uploader.file(people["member"], name, content, field="image", path="/api/upload/image")


def test_an_uploaded_photo_gets_the_jpeg_its_complete_file_makes(uploader, people, acme):
    data = photo(size=(2000, 1500))

    response = post_image(uploader, people, "photo.jpg", data)

    assert response.status_code == 201, response.content
    with upload_storage().open(response.json()["processed"]["key"], "rb") as stored:
        assert stored.read() == images.image_process(io.BytesIO(data), formats=("JPEG",))[0]


def test_a_truncated_photo_is_refused_as_corrupt_before_the_scan_that_ran_meanwhile(uploader, people, acme):
    data = photo()
    cut = data[: len(data) // 2] + EICAR

    response = post_image(uploader, people, "cut.jpg", cut)

    assert (response.status_code, error_code(response)) == (422, "invalid_image")
    assert response.json()["error"]["details"]["reason"] == "corrupt"
    assert not AuditEvent.objects.filter(tenant=acme, action="upload.malware_detected").exists()
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_a_whole_photo_carrying_eicar_is_refused_as_malware_and_audited(uploader, people, acme):
    response = post_image(uploader, people, "photo.jpg", photo() + EICAR)

    assert (response.status_code, error_code(response)) == (422, "malware_detected")
    assert AuditEvent.objects.filter(tenant=acme, action="upload.malware_detected").count() == 1
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_a_streamed_photo_is_scanned_once_by_clamd_while_it_decodes(uploader, people, acme, settings, tmp_path):
    with FakeClamd(str(tmp_path / "clamd.sock")) as clamd:
        settings.UPLOADS = {**settings.UPLOADS, "CLAMAV_URL": clamd.url}
        response = post_image(uploader, people, "photo.jpg", photo())

    assert response.status_code == 201, response.content
    assert clamd.server.commands == [b"zINSTREAM\0"]


def test_an_unreachable_scanner_answers_after_the_structure_check(uploader, people, acme, settings):
    settings.UPLOADS = {**settings.UPLOADS, "CLAMAV_URL": "tcp://127.0.0.1:9"}
    data = photo()

    cut = post_image(uploader, people, "cut.jpg", data[: len(data) // 2])
    whole = post_image(uploader, people, "photo.jpg", data)

    assert (cut.status_code, error_code(cut)) == (422, "invalid_image")
    assert (whole.status_code, error_code(whole)) == (503, "scanner_unavailable")
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_the_decoded_bytes_bound_refuses_a_streamed_photo_before_any_pixel_is_decoded(
    settings, uploader, people, acme, monkeypatch
):
    settings.UPLOADS = {**settings.UPLOADS, "IMAGE_MAX_DECODED_MB": 1}  # 2000×1500 at 1/2 scale: 2.25 MB
    data = photo(size=(2000, 1500))
    started = decoders_started(monkeypatch)

    response = post_image(uploader, people, "photo.jpg", data)

    assert (response.status_code, error_code(response)) == (422, "invalid_image")
    assert response.json()["error"]["details"]["reason"] == "too_many_bytes"
    assert started == []


def test_a_photo_left_to_the_job_is_decoded_whole_once_at_upload(settings, uploader, people, acme, monkeypatch):
    settings.UPLOADS = {**settings.UPLOADS, "IMAGE_INLINE_MAX_PIXELS": 1000}
    settings_set(acme, allowed_file_types=["jpg"])
    data = photo()
    started = decoders_started(monkeypatch)

    response = post_image(uploader, people, "photo.jpg", data)

    assert response.status_code == 202, response.content
    assert started == ["jpeg"]  # upload_check's full decode; the stream stopped at the header
