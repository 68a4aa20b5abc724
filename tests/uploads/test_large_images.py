"""POST /api/upload/image with an image over UPLOADS["IMAGE_INLINE_MAX_PIXELS"] (12 Mpx):
202, the original stored, and the `uploads.image_process` job — run by the session's
real qcluster — makes the JPEG; its `job.progress` and `file.processed` events reach
the uploader's WebSocket on the real ASGI server, and nobody else's.

The large images cost little: a 5000×3000 JPEG of two flat colours is ~250 KB and
decodes at 1/8 scale; the "late" invalid image is a 5000×3000 PNG whose chunks and
CRCs are sound (so the request's checks pass) but whose pixel data does not inflate.
"""

from __future__ import annotations

import io
import struct
import zlib

import httpx
from asgiref.sync import sync_to_async
from django_tenants.utils import tenant_context
from PIL import Image

from jobs.models import Job
from jobs.registry import task_get
from jobs.runner import JobContext, task_execute
from tests.helpers import error_code
from tests.realtime.client import connect_member
from uploads.models import File
from uploads.services import IMAGE_TASK

from .conftest import ACME, GLOBEX, file_rows, stored_keys

LARGE = (5000, 3000)  # 15 Mpx: over the default threshold; fits 800×800 as 800×480


def large_jpeg(size=LARGE) -> bytes:
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))  # left half red: shows the pixels went through
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def png_that_does_not_inflate(width: int, height: int) -> bytes:
    """Signature, IHDR, IDAT, IEND with valid CRCs (the request's PNG check passes),
    but IDAT is not a deflate stream: only decoding the pixels finds out."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    idat = b"\x78\x9c" + bytes(range(256)) * 4
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def http(server, host: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url, headers={"Host": host, "Authorization": f"Bearer {token}"}, timeout=15
    )


async def events_until(socket, last: str, timeout: float = 20) -> list[dict]:
    """Every event frame up to and including the first `last` (presence events skipped)."""
    frames = []
    while True:
        frame = await socket.recv_type("event", timeout)
        if frame["event"].startswith("presence."):
            continue
        frames.append(frame)
        if frame["event"] == last:
            return frames


async def test_a_large_image_is_processed_by_a_job_whose_progress_and_result_arrive_live(
    committed, qcluster, asgi_server, people, acme, globex
):
    uploader = await connect_member(asgi_server, ACME, people["member"])
    colleague = await connect_member(asgi_server, ACME, people["other"])
    stranger = await connect_member(asgi_server, GLOBEX, people["globex"])

    async with http(asgi_server, ACME, people["member"]) as client:
        response = await client.post("/api/upload/image", files={"image": ("panorama.jpg", large_jpeg(), "image/jpeg")})
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"original", "processed", "job_id"} and body["processed"] is None
    original = body["original"]
    assert (original["status"], original["mime_type"], original["original_name"]) == (
        "ready",
        "image/jpeg",
        "panorama.jpg",
    )

    frames = await events_until(uploader, "job.completed")
    progress = [f["data"] for f in frames if f["event"] == "job.progress"]
    processed_events = [f["data"] for f in frames if f["event"] == "file.processed"]
    completed = frames[-1]["data"]

    assert progress and {p["job"] for p in progress} == {body["job_id"]}
    assert {p["task"] for p in progress} == {IMAGE_TASK}
    assert [p["progress"] for p in progress] == sorted(p["progress"] for p in progress)
    assert progress[0]["progress"] < 100 and progress[-1] == {
        "job": body["job_id"],
        "task": IMAGE_TASK,
        "progress": 100,
        "message": "processed",
    }
    assert len(processed_events) == 1
    event = processed_events[0]
    assert (event["file"], event["job"], event["width"], event["height"]) == (original["id"], body["job_id"], 800, 480)
    assert completed["result"] == {"file": original["id"], "processed": event["processed"], "width": 800, "height": 480}

    async with http(asgi_server, ACME, people["member"]) as client:
        detail = await client.get(f"/api/files/{event['processed']}")
        download = await client.get(f"/api/files/{event['processed']}/download")
        job = await client.get(f"/api/jobs/{body['job_id']}")
    assert detail.status_code == 200, detail.text
    processed = detail.json()
    assert (processed["status"], processed["mime_type"], processed["original_name"]) == (
        "ready",
        "image/jpeg",
        "panorama-800x480.jpg",
    )
    assert processed["uploaded_by"] == people["member_user"].pk
    picture = Image.open(io.BytesIO(download.content))
    assert (picture.format, picture.size) == ("JPEG", (800, 480))
    assert picture.getpixel((100, 240))[0] > 200 and picture.getpixel((700, 240))[2] > 200
    assert (job.json()["state"], job.json()["progress"]) == ("completed", 100)
    assert sorted(await sync_to_async(stored_keys)(acme)) == sorted([original["key"], processed["key"]])

    # Nobody else hears of it: not another member of acme, not globex's member...
    assert await colleague.nothing_for(0.5)
    assert await stranger.nothing_for(0.1)
    # ...and globex's member cannot read the processed file, from either host.
    async with http(asgi_server, GLOBEX, people["globex"]) as client:
        theirs = await client.get(f"/api/files/{event['processed']}")
        their_download = await client.get(f"/api/files/{event['processed']}/download")
    async with http(asgi_server, ACME, people["globex"]) as client:
        on_acme = await client.get(f"/api/files/{event['processed']}")
    assert (theirs.status_code, error_code(theirs)) == (404, "file_not_found")
    assert (their_download.status_code, error_code(their_download)) == (404, "file_not_found")
    assert on_acme.status_code == 403
    for socket in (uploader, colleague, stranger):
        await socket.close()


async def test_an_image_found_invalid_by_the_job_fails_it_with_the_reason(
    committed, qcluster, asgi_server, people, acme
):
    uploader = await connect_member(asgi_server, ACME, people["member"])

    async with http(asgi_server, ACME, people["member"]) as client:
        response = await client.post(
            "/api/upload/image", files={"image": ("broken.png", png_that_does_not_inflate(*LARGE), "image/png")}
        )
    assert response.status_code == 202, response.text  # the request's checks cannot see it
    body = response.json()

    frames = await events_until(uploader, "job.failed")
    failed = frames[-1]["data"]
    assert "file.processed" not in {f["event"] for f in frames}
    assert (failed["job"], failed["task"], failed["attempts"]) == (body["job_id"], IMAGE_TASK, 1)  # no retry
    assert failed["reason"] == "invalid_image: The image is truncated or corrupt. (corrupt)"

    job = await sync_to_async(Job.objects.get)(pk=body["job_id"])
    assert (job.state, job.attempts, job.failed_reason) == ("failed", 1, failed["reason"])
    # The original passed every upload check and stays; no JPEG was made.
    assert await sync_to_async(stored_keys)(acme) == [body["original"]["key"]]
    assert await sync_to_async(file_rows)(acme) == [(body["original"]["key"], "ready")]
    await uploader.close()


def test_the_threshold_decides_between_the_request_and_a_job(settings, uploader, people, acme):
    """At the threshold: 201, processed here. One pixel row over: 202, the job queued
    with the file's id (not its content) and nothing processed yet."""
    settings.UPLOADS = {**settings.UPLOADS, "IMAGE_INLINE_MAX_PIXELS": 1000 * 1000}

    inline = uploader.file(
        people["member"], "square.jpg", large_jpeg((1000, 1000)), field="image", path="/api/upload/image"
    )
    queued = uploader.file(
        people["member"], "taller.jpg", large_jpeg((1000, 1001)), field="image", path="/api/upload/image"
    )

    assert inline.status_code == 201, inline.content
    assert (inline.json()["width"], inline.json()["height"]) == (800, 800)
    assert queued.status_code == 202, queued.content
    original = queued.json()["original"]
    job = Job.objects.get(pk=queued.json()["job_id"])
    assert (job.tenant_id, job.task, job.state, job.payload) == (
        acme.pk,
        IMAGE_TASK,
        "queued",
        {"file": original["id"]},
    )
    assert (job.created_by_id, job.idempotency_key) == (people["member_user"].pk, f"{IMAGE_TASK}:{original['id']}")
    assert (job.max_attempts, job.timeout) == (3, 120)
    with tenant_context(acme):
        assert File.objects.count() == 3  # square.jpg, its JPEG, taller.jpg
    assert len(stored_keys(acme)) == 3


def test_running_the_job_again_makes_no_second_processed_file(settings, uploader, people, acme):
    """At-least-once delivery: a re-run finds the JPEG it made (its key derives from the
    original's id); a run that stored the object but died before recording it is redone
    over that object, never beside it."""
    settings.UPLOADS = {**settings.UPLOADS, "IMAGE_INLINE_MAX_PIXELS": 1000}
    response = uploader.file(
        people["member"], "photo.jpg", large_jpeg((1600, 1000)), field="image", path="/api/upload/image"
    )
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job_id"])

    def run(attempt: int) -> dict:
        context = JobContext(job.pk, job.task, acme, job.created_by_id, attempt, job.max_attempts)
        return task_execute(task_get(IMAGE_TASK), context, job.payload)

    first, second = run(1), run(2)
    assert first == second and (first["width"], first["height"]) == (800, 500)
    with tenant_context(acme):
        assert File.objects.count() == 2
        File.objects.filter(pk=first["processed"]).delete()  # as if the first run died before its commit
    third = run(3)
    with tenant_context(acme):
        processed = File.objects.get(pk=third["processed"])
        assert File.objects.count() == 2
    assert processed.original_name == "photo-800x500.jpg"
    assert len(stored_keys(acme)) == 2
