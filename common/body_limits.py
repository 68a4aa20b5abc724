"""Request body limits, known before a body is read.

Every endpoint has one, from its path alone or (uploads) its host's tenant:

- upload paths (POST): the tenant's `max_upload_mb` × the files the path takes, plus framing
  (uploads/asgi.py: upload_limit, registered with `own_limit_register`) → `413 file_too_large`;
- `/api/imports`: IMPORTS["MAX_BYTES"] plus framing → `413 file_too_large`;
- everything else (JSON, forms, any content type): REQUEST_MAX_BYTES (1 MiB) →
  `413 request_too_large`.

`RequestBodyLimit` enforces them at the ASGI door, in front of Django (config/asgi.py): a
`Content-Length` over the limit is answered before a byte of the body is read, and any body
(chunked included) is cut off as soon as the bytes received pass it — whatever the content
type, so nothing over the limit is ever spooled to disk. `BodyLimitMiddleware` applies the
path limits inside Django too (test client, runserver: no ASGI door), and
DATA_UPLOAD_MAX_MEMORY_SIZE is the same REQUEST_MAX_BYTES, so Django's own checks agree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from django.conf import settings

from .asgi_responses import http_error_send
from .errors import error_response

FRAMING = 64 * 1024  # multipart boundaries, part headers, form fields


@dataclass(frozen=True)
class BodyLimit:
    allowed: int  # bytes the body may have
    code: str = "request_too_large"
    message: str = "The request body is larger than this endpoint accepts."
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OwnLimit:
    """Paths (POST) whose body limit a higher app decides, e.g. uploads: the tenant's
    `max_upload_mb`. `owns(path)` says whether a path is one; `limit(scope)` gives the limit
    at the ASGI door (None: the path limit applies after all)."""

    owns: Callable[[str], bool]
    limit: Callable[[dict], Awaitable[BodyLimit | None]]


_own_limits: list[OwnLimit] = []


def own_limit_register(owns: Callable[[str], bool], limit: Callable[[dict], Awaitable[BodyLimit | None]]) -> None:
    """Called from the owning app's AppConfig.ready() (common imports no higher app)."""
    entry = OwnLimit(owns, limit)
    if entry not in _own_limits:
        _own_limits.append(entry)


async def own_limit(scope) -> BodyLimit | None:
    for entry in _own_limits:
        limit = await entry.limit(scope)
        if limit is not None:
            return limit
    return None


def owns_its_limit(path: str) -> bool:
    return any(entry.owns(path) for entry in _own_limits)


def request_limit() -> BodyLimit:
    max_bytes = settings.REQUEST_MAX_BYTES
    return BodyLimit(max_bytes, details={"max_bytes": max_bytes})


def path_limit(path: str) -> BodyLimit:
    """The limit a path's body has, uploads aside (their limit is their tenant's)."""
    if path == "/api/imports":
        max_bytes = settings.IMPORTS["MAX_BYTES"]
        return BodyLimit(
            max_bytes + FRAMING, "file_too_large", "The file is larger than imports accept.", {"max_bytes": max_bytes}
        )
    return request_limit()


def declared_length(headers) -> int | None:
    """The largest Content-Length given (None: none, or unreadable: the server refuses those)."""
    lengths = []
    for name, value in headers:
        if name == b"content-length":
            try:
                lengths.append(int(value))
            except ValueError:
                pass
    return max(lengths) if lengths else None


class RequestBodyLimit:
    """ASGI middleware (HTTP): the body limit at the door."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = await own_limit(scope) or path_limit(scope.get("path", ""))
        declared = declared_length(scope.get("headers", []))
        if declared is not None and declared > limit.allowed:
            return await refuse(send, limit)

        received, refused, started, answered = 0, False, False, False

        async def limited_receive():
            nonlocal received, refused, answered
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit.allowed:
                    refused = True
                    if not started:  # the app may be answering already (e.g. a 401 mid-upload)
                        answered = True
                        await refuse(send, limit)
                    return {"type": "http.disconnect"}  # Django stops reading the body
            return message

        async def guarded_send(message):
            nonlocal started
            if answered and message["type"].startswith("http.response"):
                return  # our 413 is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)


async def refuse(send, limit: BodyLimit) -> None:
    await http_error_send(send, 413, limit.code, limit.message, limit.details)


class BodyLimitMiddleware:
    """The same path limits inside Django, on the declared length (WSGI and the test client
    always declare one). Upload paths are left to their upload handler (the tenant's limit)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not (request.method == "POST" and owns_its_limit(request.path_info)):
            limit = path_limit(request.path_info)
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit.allowed:
                return error_response(limit.code, limit.message, 413, limit.details)
        return self.get_response(request)
