"""The upload size limit at the ASGI door (common/body_limits.py enforces it).

A multipart body with a Content-Length streams from `receive` to the upload
handler (common/asgi.py), whose cut-off in pipeline/handlers.py then applies as it
arrives; any other body, a chunked one included, Django's ASGI handler reads
whole (into a temporary file) before any view runs. The door, in front of
Django, refuses a body whose Content-Length is over the limit before the
request reaches Django (no view, no database), and cuts off a body without one
(chunked) as soon as it passes the limit: `413 file_too_large` either way. The
limit is the host's tenant's `max_upload_mb` (× the files a path takes, plus
room for the multipart framing); a tenant named by header or token is only
known inside Django, so there it is the most any tenant may set, and the upload
handler applies the tenant's own limit after.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.conf import settings

from common.asgi_headers import scope_header
from common.body_limits import FRAMING, BodyLimit

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


def is_upload_path(path: str) -> bool:
    return _files_per_body(path) is not None


async def upload_limit(scope) -> BodyLimit | None:
    """The body limit of an upload (a POST to an upload path); None for any other request."""
    from common.asgi import body_streams

    files = _files_per_body(scope.get("path", "")) if scope["method"] == "POST" else None
    if files is None or not body_streams(scope):
        # Not an upload, or a body no upload view can take as a file (not multipart, or
        # without a Content-Length: Django would read it whole, to a temporary file, before
        # any view runs): the request limit, like any other endpoint.
        return None
    host = scope_header(scope, b"host") or ""
    max_mb = await database_sync_to_async(_host_limit_mb)(host)
    return BodyLimit(
        files * max_mb * 1024 * 1024 + FRAMING,
        "file_too_large",
        "The file is larger than this tenant accepts.",
        {"max_bytes": max_mb * 1024 * 1024},
    )
