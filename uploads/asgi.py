"""The upload size limit at the ASGI door.

A multipart body with a Content-Length streams from `receive` to the upload
handler (common/asgi.py), whose cut-off in handlers.py then applies as it
arrives; any other body, a chunked one included, Django's ASGI handler reads
whole (into a temporary file) before any view runs. This middleware, in front
of Django for upload paths, refuses a body whose Content-Length is over the
limit before the request reaches Django (no view, no database), and cuts off a
body without one (chunked) as soon as it passes the limit: `413
file_too_large` either way. The limit is the host's tenant's `max_upload_mb`
(× the files a path takes, plus room for the multipart framing); a tenant named
by header or token is only known inside Django, so there it is the most any
tenant may set, and the upload handler applies the tenant's own limit after.
"""
from __future__ import annotations

import json

from channels.db import database_sync_to_async
from django.conf import settings

from common.errors import error_body

FRAMING = 64 * 1024  # multipart boundaries, part headers, form fields
PLATFORM_MAX_MB = 1024  # the largest `max_upload_mb` a tenant may set (tenants/settings_schema.py)


def _files_per_body(path: str) -> int | None:
    if path == "/api/upload/multiple":
        return settings.UPLOADS["MAX_FILES_PER_REQUEST"]
    if path in ("/api/upload", "/api/upload/image") or path.startswith("/api/upload/direct/"):
        return 1
    return None


def _host_limit_mb(host: str) -> int:
    from tenants.cache import cached_tenant_for_host
    from tenants.resolution import host_normalize
    from tenants.settings_schema import settings_effective

    tenant = cached_tenant_for_host(host_normalize(host))
    return settings_effective(tenant.settings)["max_upload_mb"] if tenant else PLATFORM_MAX_MB


class UploadBodyLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        files = _files_per_body(scope.get("path", "")) if scope["type"] == "http" and scope["method"] == "POST" else None
        if files is None:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        max_mb = await database_sync_to_async(_host_limit_mb)(headers.get(b"host", b"").decode("latin-1"))
        limit = files * max_mb * 1024 * 1024 + FRAMING
        details = {"max_bytes": max_mb * 1024 * 1024}
        try:
            declared = int(headers[b"content-length"]) if b"content-length" in headers else None
        except ValueError:
            declared = None
        if declared is not None and declared > limit:
            return await _refuse(send, details)

        received, refused = 0, False

        async def limited_receive():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _refuse(send, details)
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def guarded_send(message):
            if not refused:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)


async def _refuse(send, details: dict) -> None:
    body = json.dumps(error_body("file_too_large", "The file is larger than this tenant accepts.", details)).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
