"""Django's ASGI handler, with multipart bodies streamed instead of spooled.

Stock Django (`ASGIHandler`) receives a request's whole body into a
SpooledTemporaryFile (on disk past FILE_UPLOAD_MAX_MEMORY_SIZE) before the view
runs; the multipart parser then feeds the upload handler, which writes each file
again: every uploaded byte went to disk twice. `StreamingASGIHandler` hands a
multipart body with a Content-Length to the request as a `StreamedBody`
instead: `read(n)` pulls the next `http.request` messages from the ASGI
`receive` when the parser asks for them, so the bytes go from the socket to
the upload handler's file once, with uvicorn's flow control as backpressure
(it stops reading the socket while a message waits unreceived).

Every other request (no body, JSON, forms, chunked bodies without a
Content-Length, which Django's multipart parser cannot read anyway, and which
common/body_limits.py cuts off at the limit) keeps Django's path unchanged.

While such a body is unread:
- Django's disconnect listener, started next to the view, must not take
  body messages: it waits until the body was received to its end, then listens
  as usual. A client leaving mid-body is seen by the reader instead, which
  raises `RequestBodyIncomplete` in the view (a BadRequest: 400, though no one
  is left to receive it); the view unwinds and the upload handler drops its
  partial file.
- The view's thread waits for the network, so before each wait the reader gives
  back the thread's database connections that are not inside a transaction
  (to the pool under ASGI): a slow client must not hold one for minutes.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import AsyncToSync, SyncToAsync
from django.core.exceptions import BadRequest
from django.db import connections

from .compat.asgiref import sync_thread_loop
from .compat.django import ASGIHandlerBase

logger = logging.getLogger(__name__)

STREAMED_CONTENT_TYPES = (b"multipart/form-data",)


class RequestBodyIncomplete(BadRequest):
    """The client disconnected before sending the whole body."""


def body_streams(scope) -> bool:
    """Whether the request's body is streamed: multipart with a Content-Length > 0."""
    if scope.get("type") != "http":
        return False
    content_type = length = None
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            return False
    if content_type is None or not content_type.lower().lstrip().startswith(STREAMED_CONTENT_TYPES):
        return False
    try:
        return length is not None and int(length) > 0
    except ValueError:
        return False


def database_connections_release() -> None:
    """Give back this thread's open connections that no transaction needs (to the pool)."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.in_atomic_block:
            connection.close()


class StreamedBody:
    """A request body read from ASGI `receive` as it is read: a file-like object for
    sync code (the request's worker thread), created on the event loop.

    `read(n)` returns n bytes, fewer only at the end (as the spooled file did); it blocks
    its thread while the event loop receives the next messages. Each wait receives at
    least `read_ahead` bytes (or to the end), so that the thread-to-loop hop (~0.1 ms)
    comes once per MiB, not once per parser chunk (256 KiB): at most about
    max(n, read_ahead) plus one message (uvicorn: ~64-320 KiB) is held.
    """

    read_ahead = 1024 * 1024

    def __init__(self, receive):
        self._receive = receive
        self._loop = asyncio.get_running_loop()
        self._buffer = bytearray()
        self._more = True  # more http.request messages to come
        self.disconnected = False
        self.closed = False
        self.received = asyncio.Event()  # set once the last message (or a disconnect) came in

    async def _fill(self, size: int, until_newline: bool = False) -> None:
        """Receive until the buffer holds `size` bytes (or a newline), or the body ends."""
        while self._more and (size < 0 or len(self._buffer) < size):
            if until_newline and b"\n" in self._buffer:
                break
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._more, self.disconnected = False, True
            else:
                self._buffer += message.get("body", b"")
                self._more = message.get("more_body", False)
        if not self._more:
            self.received.set()

    def _wait_for(self, size: int, until_newline: bool = False) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed request body.")
        if self._more and (size < 0 or len(self._buffer) < size) and not (until_newline and b"\n" in self._buffer):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                raise RuntimeError("A streamed request body is read from sync code, not on the event loop.")
            database_connections_release()
            target = -1 if size < 0 else max(size, self.read_ahead)
            if sync_thread_loop() is self._loop:
                # A sync_to_async thread of this loop (the view's): asgiref's bridge, which
                # also runs any thread-sensitive call made meanwhile on this thread.
                AsyncToSync(self._fill)(target, until_newline)
            else:
                asyncio.run_coroutine_threadsafe(self._fill(target, until_newline), self._loop).result()
        if self.disconnected:
            raise RequestBodyIncomplete("The client disconnected before the request body was complete.")

    def _take(self, size: int) -> bytes:
        if size < 0 or size >= len(self._buffer):
            data = bytes(self._buffer)
            self._buffer.clear()
        else:
            with memoryview(self._buffer) as view:
                data = bytes(view[:size])
            del self._buffer[:size]
        return data

    def read(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
        self._wait_for(size)
        return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
        while True:
            if self.disconnected:
                raise RequestBodyIncomplete("The client disconnected before the request body was complete.")
            newline = self._buffer.find(b"\n")
            if newline >= 0 and (size < 0 or newline < size):
                return self._take(newline + 1)
            if size >= 0 and len(self._buffer) >= size or not self._more:
                return self._take(size)
            self._wait_for(len(self._buffer) + 64 * 1024 if size < 0 else size, until_newline=True)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True
        self._buffer = bytearray()


async def _request_end_run(callbacks) -> None:
    for callback in callbacks:
        try:
            await SyncToAsync(callback, thread_sensitive=False)()
        except Exception:
            logger.exception("request-end callback failed")


class _StreamingReceive:
    """The request's `receive`, marked for streaming; holds its StreamedBody."""

    def __init__(self, receive):
        self.receive = receive
        self.body: StreamedBody | None = None

    def __call__(self):
        return self.receive()


REQUEST_END = "saas.request_end"  # scope key: callables run once the request is over, however it ended


def at_request_end(request, callback) -> None:
    """Run `callback` (sync, idempotent) when the ASGI request is over — also when the
    client left while the view was still making the response: Django then drops that
    response unsent and never calls its close(). Without an ASGI scope (test client,
    WSGI) Django always closes the response, so nothing is needed."""
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        scope.setdefault(REQUEST_END, []).append(callback)


class StreamingASGIHandler(ASGIHandlerBase):
    async def request_handle(self, scope, receive, send):
        if body_streams(scope):
            receive = _StreamingReceive(receive)
        try:
            await super().request_handle(scope, receive, send)
        finally:
            callbacks = scope.pop(REQUEST_END, [])
            if callbacks:
                await asyncio.shield(_request_end_run(callbacks))

    async def body_receive(self, receive):
        if isinstance(receive, _StreamingReceive):
            receive.body = StreamedBody(receive.receive)
            return receive.body
        return await super().body_receive(receive)

    async def disconnect_wait(self, receive):
        if isinstance(receive, _StreamingReceive):
            body = receive.body
            await body.received.wait()  # cancelled by handle() if the view ends before the body does
            if body.disconnected:
                # The reader got the disconnect and raised it in the view, which is unwinding
                # (its partial files dropped): let it finish rather than cancel it midway.
                await asyncio.Future()
            receive = receive.receive
        return await super().disconnect_wait(receive)
