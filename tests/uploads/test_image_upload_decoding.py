"""POST /api/upload/image decodes an image once: making the JPEG is its structure check
(uploads.services.image_upload), and every refusal of the separate check still happens."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.helpers import error_code
from uploads.pipeline.scanning import EICAR

from .conftest import file_rows, image_bytes, settings_set, stored_keys


@pytest.fixture
def decoders(monkeypatch) -> list[str]:
    """The name of every Pillow decoder started (one per decode of an image)."""
    started: list[str] = []
    real = Image._getdecoder

    def counting(mode, decoder_name, args, extra=()):
        started.append(decoder_name)
        return real(mode, decoder_name, args, extra)

    monkeypatch.setattr(Image, "_getdecoder", counting)
    return started


def post_image(uploader, people, name: str, content: bytes):
    return uploader.file(people["member"], name, content, field="image", path="/api/upload/image")


@pytest.mark.parametrize("fmt, name", [("JPEG", "photo.jpg"), ("WEBP", "photo.webp")])
def test_an_image_made_in_the_request_is_decoded_once(uploader, people, acme, decoders, fmt, name):
    settings_set(acme, allowed_file_types=["jpg", "webp"])
    response = post_image(uploader, people, name, image_bytes(fmt, size=(1600, 1200)))

    assert response.status_code == 201, response.content
    assert (response.json()["width"], response.json()["height"]) == (800, 600)
    assert len(decoders) == 1, decoders


def test_an_image_left_to_the_job_is_still_decoded_whole_at_upload(settings, uploader, people, acme, decoders):
    settings.UPLOADS = {**settings.UPLOADS, "IMAGE_INLINE_MAX_PIXELS": 1000}
    cut = image_bytes("JPEG", size=(1600, 1200))[:2000]

    good = post_image(uploader, people, "photo.jpg", image_bytes("JPEG", size=(1600, 1200)))
    truncated = post_image(uploader, people, "cut.jpg", cut)

    assert good.status_code == 202, good.content
    assert (truncated.status_code, error_code(truncated)) == (422, "invalid_image")
    assert decoders == ["jpeg", "jpeg"]


@pytest.mark.parametrize("max_mb, refused_by", [(0.05, "the header at 1/8 scale"), (1, "the decode's own scale")])
def test_the_decoded_bytes_bound_refuses_a_jpeg_before_any_pixel_is_decoded(
    settings, uploader, people, acme, decoders, max_mb, refused_by
):
    """1600×1200 is 90 KB of pixels at 1/8 scale (what the upload check counts) and 1.4 MB at
    the 1/2 scale it is decoded at to make an 800×600 JPEG: either bound refuses it undecoded."""
    settings.UPLOADS = {**settings.UPLOADS, "IMAGE_MAX_DECODED_MB": max_mb}

    response = post_image(uploader, people, "photo.jpg", image_bytes("JPEG", size=(1600, 1200)))

    assert (response.status_code, error_code(response)) == (422, "invalid_image"), refused_by
    assert response.json()["error"]["details"]["reason"] == "too_many_bytes"
    assert decoders == []
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_a_truncated_image_is_refused_with_its_reason_and_before_the_malware_scan(uploader, people, acme):
    """The order of refusals is any upload's: structure (422 invalid_image) before malware."""
    cut = image_bytes("JPEG", size=(800, 600))[:3000] + EICAR

    response = post_image(uploader, people, "cut.jpg", cut)

    assert (response.status_code, error_code(response)) == (422, "invalid_image")
    details = response.json()["error"]["details"]
    assert (details["file"], details["reason"]) == ("cut.jpg", "corrupt")
    assert stored_keys(acme) == [] and file_rows(acme) == []


def test_a_jpeg_named_png_is_a_type_mismatch_not_decoded(uploader, people, acme, decoders):
    response = post_image(uploader, people, "photo.png", image_bytes("JPEG", size=(400, 300)))

    assert (response.status_code, error_code(response)) == (415, "file_type_mismatch")
    assert decoders == []
