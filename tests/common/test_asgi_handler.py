"""common/asgi_handler.py driven as uvicorn drives it (scope, receive, send), in this
process so that what it holds can be measured."""

from __future__ import annotations

import asyncio
import io
import tracemalloc

from django_tenants.utils import tenant_context

from common.asgi_handler import PlatformASGIHandler
from tests.helpers import tenant_files_remove
from uploads.models import File
from uploads.pipeline.storage import key_make, object_store

ACME = "acme.localhost"
MIB = 1024 * 1024


def scope(path: str, host: str, token: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"host", host.encode()), (b"authorization", f"Bearer {token}".encode())],
    }


def test_a_download_holds_a_chunk_of_the_file_not_the_whole_file(committed, acme):
    """A client reading a large download slowly (or never) must not make the process hold
    the whole file: Django maps a FileResponse's sync iterator with sync_to_async(list),
    so a few slow downloads of a 1 GiB file (max_upload_mb goes to 1024) would hold
    gigabytes in one server process."""
    size = 24 * MIB
    with tenant_context(acme):
        key = key_make(acme, "bin")
        object_store(key, io.BytesIO(b"x" * size))
        file = File.objects.create(
            key=key,
            original_name="big.bin",
            size=size,
            mime_type="application/octet-stream",
            sha256="0" * 64,
            uploaded_by=acme.owner,
            status=File.Status.READY,
        )
    handler = PlatformASGIHandler()
    held = {}

    async def run():
        disconnected = asyncio.Event()
        first_body = asyncio.Event()
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive():
            if messages:
                return messages.pop(0)
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                held["status"] = message["status"]
            elif message["type"] == "http.response.body" and not first_body.is_set():
                held["bytes"] = tracemalloc.get_traced_memory()[0] - baseline
                first_body.set()
                await asyncio.sleep(3600)  # a client that stops reading

        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        call = asyncio.create_task(
            handler(scope(f"/api/files/{file.pk}/download", ACME, acme.owner_token), receive, send)
        )
        try:
            await asyncio.wait_for(first_body.wait(), 20)
        finally:
            tracemalloc.stop()
            disconnected.set()
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)

    try:
        asyncio.run(run())
    finally:
        handler._pool.shutdown(wait=True)
        tenant_files_remove(acme)
    assert held["status"] == 200
    assert held["bytes"] < 4 * MIB, f"{held['bytes'] / MIB:.1f} MiB held for the first chunk of a 24 MiB file"


def test_a_download_sends_the_whole_file_with_its_length(committed, acme):
    content = bytes(range(256)) * 4099  # not a multiple of the chunk size
    with tenant_context(acme):
        key = key_make(acme, "bin")
        object_store(key, io.BytesIO(content))
        file = File.objects.create(
            key=key,
            original_name="f.bin",
            size=len(content),
            mime_type="application/octet-stream",
            sha256="0" * 64,
            uploaded_by=acme.owner,
            status=File.Status.READY,
        )
    handler = PlatformASGIHandler()
    sent = []

    async def run():
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive():
            if messages:
                return messages.pop(0)
            await asyncio.Future()

        async def send(message):
            sent.append(message)

        await asyncio.wait_for(
            handler(scope(f"/api/files/{file.pk}/download", ACME, acme.owner_token), receive, send), 20
        )

    try:
        asyncio.run(run())
    finally:
        handler._pool.shutdown(wait=True)
        tenant_files_remove(acme)
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    assert start["status"] == 200
    assert dict(start["headers"])[b"Content-Length"] == str(len(content)).encode()
    assert body == content and sent[-1].get("more_body", False) is False
