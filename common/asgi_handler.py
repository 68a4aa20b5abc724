"""The platform's ASGI handler for HTTP: each request's sync work in one thread hop.

Django's ASGIHandler loads the middleware in async mode. Its own middlewares
(MiddlewareMixin) then run every process_request / process_response through
sync_to_async, one sync-only middleware turns the chain back to sync with
async_to_sync, and the view is one more hop; `request_started` and
`response.close()` are two more. Each request also gets a new thread
(ThreadSensitiveContext makes a one-thread executor per request). Measured
under load (docs/performance.md) that was most of a request's CPU.

Here the middleware chain is loaded in sync mode, as under WSGI, and a
request's whole sync part — `request_started`, the middleware, the view and,
for a response that is not streamed, `close()` (so `request_finished` gives
the thread's database connection back before the bytes are sent) — is one
call on this process's pool of REQUEST_THREADS threads. What stays on the
event loop is what is asynchronous anyway: reading the body, sending the
response, listening for a disconnect, streaming.

- An async view (the SSE stream) runs on the event loop from its request's
  thread through async_to_sync, as Django runs it under a sync middleware; its
  thread-sensitive calls come back to that thread, which holds the request's
  database connections. A streaming response gives them back before it
  streams and is closed after, in the pool.
- A client that leaves cancels the sending of its response, never the making:
  the sync part runs to its end (it could not be stopped anyway), then an
  unsent streaming response is closed and the request-end callbacks
  (common.asgi.at_request_end) run — so whatever the view registered, it
  registered before they ran.
- A multipart body streams into the view's thread as it arrives
  (common/asgi.py): that thread waits for the network, so such a request gets
  a thread of its own, and a slow upload cannot occupy the pool.

Django's handler steps (receive the body, make the request, send the response, listen for
a disconnect) are reached through common/compat/django.py, under names of ours.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync, ThreadSensitiveContext
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.http import FileResponse

from .asgi import (
    REQUEST_END,
    StreamingASGIHandler,
    _request_end_run,
    _StreamingReceive,
    body_streams,
    database_connections_release,
)
from .compat.django import file_response_source, script_prefix_set


async def _file_chunks(file, size: int):
    """A file's bytes, `size` at a time, each read in a worker thread."""
    read = SyncToAsync(file.read, thread_sensitive=False)
    while chunk := await read(size):
        yield chunk


class PlatformASGIHandler(StreamingASGIHandler):
    def __init__(self):
        super().__init__(async_middleware=False)
        self._pool = ThreadPoolExecutor(max_workers=settings.REQUEST_THREADS, thread_name_prefix="request")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        own_thread = body_streams(scope)
        if own_thread:
            receive = _StreamingReceive(receive)
        try:
            if own_thread:
                async with ThreadSensitiveContext():  # a thread for this request alone
                    await self._handle(scope, receive, send, SyncToAsync(self._respond, thread_sensitive=True))
            else:
                await self._handle(
                    scope, receive, send, SyncToAsync(self._respond, thread_sensitive=False, executor=self._pool)
                )
        finally:
            callbacks = scope.pop(REQUEST_END, [])
            if callbacks:
                await asyncio.shield(_request_end_run(callbacks))

    def _respond(self, request, scope):
        """The sync part of a request, in its thread."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        response = self.response_get(request)  # a FileResponse's block_size: the server chunks the bytes itself
        if isinstance(response, FileResponse):
            file = file_response_source(response)
            if file is not None:
                # Django serves a sync iterator with sync_to_async(list): the whole file in
                # memory (and read on the process's one thread-sensitive thread). Read it a
                # chunk at a time instead, as the client takes it.
                response.streaming_content = _file_chunks(file, response.block_size)
        if response.streaming:
            database_connections_release()  # a stream waits on the network, not on the database
        else:
            response.close()  # request_finished: connections back to the pool now
        return response

    async def _handle(self, scope, receive, send, respond):
        try:
            body_file = await self.body_receive(receive)
        except RequestAborted:
            return
        script_prefix_set(scope)
        request, error_response = self.request_make(scope, body_file)
        if request is None:
            body_file.close()
            await self.response_send(error_response, send)
            return

        # The sync part always runs to its end (a thread cannot be interrupted, and what it
        # registers to run at the request's end must be registered before that end comes):
        # a client that leaves cancels the sending, not the making, of the response.
        making = asyncio.create_task(respond(request, scope))

        async def process_request():
            response = await asyncio.shield(making)
            try:
                await self.response_send(response, send)
            except asyncio.CancelledError:
                pass  # the client left while the response was sent
            return response

        # Django's order: the disconnect listener first, so it is cancelled first.
        tasks = [asyncio.create_task(self.disconnect_wait(receive)), asyncio.create_task(process_request())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        try:
            response = await making
        finally:
            body_file.close()
        if response.streaming:  # closed after it was sent, or unsent when the client left
            await SyncToAsync(response.close, thread_sensitive=False, executor=self._pool)()
