"""What an image costs in memory: pixels are bounded by bytes as well as by count, and a
large PNG is reduced in strips, so a worker does not grow with the image.

Memory is measured in a fresh Python process (the growth of its peak RSS across one
image_process call), as a qcluster worker would see it; the PNGs are all-zero pixels
compressed to a few hundred KB, built in that process before the measurement starts.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import error_code
from uploads.pipeline.images import InvalidImage, image_process

from .conftest import file_rows, settings_set, stored_keys

ROOT = Path(__file__).resolve().parents[2]

MEASURE = textwrap.dedent("""
    import io, json, resource, struct, sys, zlib
    from uploads.pipeline import images

    width, height, colour, unbounded = json.loads(sys.argv[1])
    if unbounded:
        images.max_decoded_bytes = lambda: None  # only the strips keep memory down
    bands = {0: 1, 2: 3, 6: 4}[colour]
    deflate = zlib.compressobj(9)
    row = b"\\0" * (1 + width * bands)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
           + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        _, w, h = images.image_process(io.BytesIO(png), max_side=800)
        outcome = [w, h]
    except images.InvalidImage as exc:
        outcome = exc.reason
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"png_bytes": len(png), "grown_mib": grown / 1024, "outcome": outcome}))
""")


def measured(width: int, height: int, *, colour: int = 6, unbounded: bool = False) -> dict:
    """image_process of an all-zero PNG (colour type 6: RGBA) in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps([width, height, colour, unbounded])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def zero_png(width: int, height: int, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG")
    return out.getvalue()


def zero_rgba_png_streamed(width: int, height: int) -> bytes:
    """An all-zero RGBA PNG, compressed row by row (never holding its pixels)."""
    deflate = zlib.compressobj(9)
    row = b"\0" * (1 + width * 4)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def test_a_9400_square_rgba_png_is_refused_for_its_decoded_bytes_before_any_pixel_is_decoded():
    """343 KB, 88 Mpx (under the pixel limit), but 353 MB of pixels: it used to grow a worker by 724 MiB."""
    result = measured(9400, 9400)

    assert result["png_bytes"] < 400_000
    assert result["outcome"] == "too_many_bytes"
    assert result["grown_mib"] < 30, result


def test_a_large_png_is_reduced_in_strips_in_memory_that_does_not_grow_with_it():
    """Without the byte bound, the same 9400×9400 PNG and a 3000×3000 one cost about the same."""
    large = measured(9400, 9400, unbounded=True)
    small = measured(3000, 3000, unbounded=True)

    assert large["outcome"] == small["outcome"] == [800, 800]
    assert large["grown_mib"] < 100, large  # decoded whole: 726 MiB
    assert large["grown_mib"] < small["grown_mib"] + 25, (large, small)


def test_a_png_just_under_the_bound_is_processed_in_bounded_memory():
    result = measured(5700, 5700)  # 124 MiB of RGBA pixels, under the 128 MiB bound

    assert result["outcome"] == [800, 800]
    assert result["grown_mib"] < 100, result  # decoded whole: 292 MiB


def test_a_png_too_wide_for_bounded_strips_gets_the_whole_decode_bound_not_one_huge_strip():
    """100000×330 RGBA, 132 MB of pixels (under the bound), 128 KB: reduced to 800 px wide, one
    strip would need 110 rows of 400 kB each; it used to grow a worker by 360 MiB that way."""
    result = measured(100_000, 330)

    assert result["outcome"] == "too_many_bytes"
    assert result["grown_mib"] < 30, result


def test_the_byte_bound_follows_the_setting_and_counts_bands_and_their_depth(settings):
    settings.UPLOADS = {**settings.UPLOADS, "IMAGE_MAX_DECODED_MB": 1}
    image_process(io.BytesIO(zero_png(1000, 1000, "L")))  # 1 MB: 1 band of 1 byte

    for mode in ("RGB", "RGBA", "I;16"):  # 3 MB, 4 MB, 2 MB (16-bit grey: 2 bytes a band)
        with pytest.raises(InvalidImage) as refused:
            image_process(io.BytesIO(zero_png(1000, 1000, mode)))
        assert refused.value.reason == "too_many_bytes"


def test_a_webp_decoded_whole_gets_a_quarter_of_the_bound(settings):
    settings.UPLOADS = {**settings.UPLOADS, "IMAGE_MAX_DECODED_MB": 4}
    out = io.BytesIO()
    Image.new("RGB", (800, 800)).save(out, "WEBP")  # 1.9 MB of pixels: under 4 MiB, over a quarter of it

    with pytest.raises(InvalidImage) as refused:
        image_process(io.BytesIO(out.getvalue()))
    assert refused.value.reason == "too_many_bytes"


def test_uploading_a_byte_flood_png_is_a_422_and_stores_nothing_and_queues_no_job(uploader, people, acme):
    settings_set(acme, max_upload_mb=1)
    flood = zero_rgba_png_streamed(9400, 9400)

    response = uploader.file(people["member"], "poster.png", flood, field="image", path="/api/upload/image")

    assert (response.status_code, error_code(response)) == (422, "invalid_image")
    assert response.json()["error"]["details"]["reason"] == "too_many_bytes"
    assert stored_keys(acme) == [] and file_rows(acme) == []
    from jobs.models import Job

    assert not Job.objects.filter(tenant=acme, task="uploads.image_process").exists()


def zero_png_streamed(width: int, height: int, *, depth: int, colour: int) -> bytes:
    """An all-zero PNG of any depth and colour type (0 grey, 2 RGB, 6 RGBA), row by row."""
    bands = {0: 1, 2: 3, 6: 4}[colour]
    deflate = zlib.compressobj(9)
    row = b"\0" * (1 + width * bands * depth // 8)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def test_an_upload_the_job_would_refuse_for_its_bytes_is_refused_at_upload(uploader, people, acme):
    """A 16-bit RGB PNG is decoded whole (no strips), so the job allows it a quarter of the
    byte bound: 12.6 Mpx × 6 bytes = 76 MB passes the full bound but not that share. The
    upload must say so at once (422), not answer 202 for a job that can only fail."""
    settings_set(acme, max_upload_mb=1)
    png = zero_png_streamed(3600, 3500, depth=16, colour=2)

    response = uploader.file(people["member"], "scan.png", png, field="image", path="/api/upload/image")

    assert (response.status_code, error_code(response)) == (422, "invalid_image"), response.content
    assert response.json()["error"]["details"]["reason"] == "too_many_bytes"
    assert stored_keys(acme) == [] and file_rows(acme) == []
