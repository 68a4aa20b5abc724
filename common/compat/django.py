"""Django: the steps of its ASGI handler, and the client of its Redis cache backend.

Uses, of `django.core.handlers.asgi.ASGIHandler` (Django documents only
`get_asgi_application()`, not the class): the methods its `handle()` runs a request
through — `read_body`, `create_request`, `listen_for_disconnect`, `send_response` — and
`chunk_size`; `BaseHandler.load_middleware(is_async=…)` and `get_response`; the module's
`get_script_prefix(scope)`; `HttpResponseBase._handler_class` (the sender of the
`request_finished` that `response.close()` sends, which `run_get_response` sets) and
`FileResponse.file_to_stream`. Of `django.core.cache.backends.redis.RedisCache`: the cached
property `_cache` (its client) and `_servers`, `_options`, `_class` it is built from.

Why no public API: common.asgi streams multipart bodies to the view instead of spooling
them, which only a different `read_body` / `listen_for_disconnect` can do, and
common.asgi_handler runs a request's sync part in one thread hop, which means running the
handler's steps itself. `ASGIHandlerBase` gives those steps names of ours (subclasses
override `body_receive` and `disconnect_wait`, and call `request_make`, `response_send`,
`response_get`), so a rename in Django fails here and in the guard test, not silently in
an override nobody calls. RedisCache makes a client (and a connection pool) per cache
object, and under ASGI Django makes cache objects per request; `RedisCacheBase` lets
common.cache make the client (`client_make`) and share it.

On upgrade: compare `ASGIHandler.handle` and `run_get_response` with `common.asgi_handler`
(what Django added to a request's path — a signal, a header — the platform handler must do
too), check the names above and their signatures, and that RedisCache still builds its
client as `self._class(self._servers, **self._options)`.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix
from django.utils.functional import cached_property

from . import Internal, Owned

_ASGI = "django.core.handlers.asgi"
_REDIS = "django.core.cache.backends.redis"

REQUIRES = (
    Internal(
        "Django",
        _ASGI,
        "ASGIHandler.handle",
        params=("scope", "receive", "send"),
        used_by=(f"{_ASGI}:ASGIHandler.__call__",),
    ),
    Internal("Django", _ASGI, "ASGIHandler.read_body", params=("receive",), used_by=(f"{_ASGI}:ASGIHandler.handle",)),
    Internal(
        "Django",
        _ASGI,
        "ASGIHandler.listen_for_disconnect",
        params=("receive",),
        used_by=(f"{_ASGI}:ASGIHandler.handle",),
    ),
    Internal("Django", _ASGI, "ASGIHandler.create_request", params=("scope", "body_file")),
    Internal("Django", _ASGI, "ASGIHandler.send_response", params=("response", "send")),
    Internal("Django", _ASGI, "ASGIHandler.chunk_size"),
    Internal("Django", _ASGI, "ASGIHandler.run_get_response", used_by=(f"{_ASGI}:ASGIHandler.handle",)),
    Internal("Django", _ASGI, "get_script_prefix", params=("scope",)),
    Internal("Django", "django.core.handlers.base", "BaseHandler.load_middleware", params=("is_async",)),
    Internal("Django", "django.core.handlers.base", "BaseHandler.get_response", params=("request",)),
    Internal(
        "Django",
        "django.http.response",
        "HttpResponseBase",
        assigned=("_handler_class",),
        used_by=("django.http.response:HttpResponseBase.close", f"{_ASGI}:ASGIHandler.run_get_response"),
    ),
    Internal("Django", "django.http.response", "FileResponse", assigned=("file_to_stream",)),
    Internal("Django", _REDIS, "RedisCache._cache", used_by=(f"{_REDIS}:RedisCache.get",)),
    Internal(
        "Django",
        _REDIS,
        "RedisCache",
        assigned=("_servers", "_options", "_class"),
        used_by=(f"{_REDIS}:RedisCache._cache",),
    ),
)
OWNS = Owned(
    names=frozenset(
        {
            "read_body",
            "listen_for_disconnect",
            "create_request",
            "send_response",
            "run_get_response",
            "load_middleware",
            "_handler_class",
            "file_to_stream",
            "_cache",
        }
    ),
    modules=("django.core.handlers", "django.core.cache.backends"),
)


class ASGIHandlerBase(ASGIHandler):
    """Django's ASGI handler, the steps of its request under names of ours.

    Django's `handle()` (what `__call__` runs) calls `read_body` and
    `listen_for_disconnect`; here they call `body_receive` and `disconnect_wait`, which
    subclasses override. Unoverridden, each of ours *is* Django's function (no extra
    call on the request path).
    """

    def __init__(self, *, async_middleware: bool = True) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=async_middleware)  # False: the chain runs sync, as under WSGI

    # Django's names, routed to ours.
    async def handle(self, scope, receive, send):
        return await self.request_handle(scope, receive, send)

    async def read_body(self, receive):
        return await self.body_receive(receive)

    async def listen_for_disconnect(self, receive):
        return await self.disconnect_wait(receive)

    # Ours, Django's by default.
    request_handle = ASGIHandler.handle  # Django's whole request path (async middleware)
    body_receive = ASGIHandler.read_body  # the body, spooled; RequestAborted if the client left first
    disconnect_wait = ASGIHandler.listen_for_disconnect  # RequestAborted once the client leaves
    request_make = ASGIHandler.create_request  # (request, None), or (None, an error response)
    response_send = ASGIHandler.send_response

    def response_get(self, request):
        """The response, from the sync middleware chain, prepared as `run_get_response`
        prepares it (the `request_finished` sender; a FileResponse's block size)."""
        response = self.get_response(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response


def script_prefix_set(scope) -> None:
    """The URL prefix of this request (its `root_path`), as Django's handler sets it."""
    set_script_prefix(get_script_prefix(scope))


def file_response_source(response: FileResponse):
    """The file a FileResponse streams from, None if it was given an iterator instead."""
    return response.file_to_stream


class RedisCacheBase(RedisCache):
    """Django's Redis cache, its client made by `client_make` (once per cache object)."""

    @cached_property
    def _cache(self):
        return self.client_make(self._servers, self._options, self._class)

    def client_make(self, servers: list, options: dict, client_class):
        return client_class(servers, **options)
