"""asgiref: which event loop, if any, a sync_to_async thread was started from.

Uses `SyncToAsync.threadlocal.main_event_loop`: SyncToAsync sets it in the thread that
runs a sync function, and AsyncToSync reads it there to run its coroutine on that loop
(with thread-sensitive calls made meanwhile coming back to the thread).

Why no public API: asgiref exposes no "am I in a sync_to_async thread of this loop?".
common.asgi.StreamedBody needs it: the view's thread waits for body bytes received on the
loop, through AsyncToSync when asgiref's bridge is there (so a thread-sensitive call made
while it waits still runs), through run_coroutine_threadsafe otherwise.

On upgrade: check that SyncToAsync still sets `threadlocal.main_event_loop` in the thread
and AsyncToSync still reads it. If it goes, every body read takes the
run_coroutine_threadsafe path: a thread-sensitive call made by the loop while the view's
thread waits (none today) would wait for the read to finish.
"""

from __future__ import annotations

from asgiref.sync import SyncToAsync

from . import Internal, Owned

REQUIRES = (
    Internal("asgiref", "asgiref.sync", "SyncToAsync.threadlocal", used_by=("asgiref.sync:AsyncToSync.__call__",)),
    Internal(
        "asgiref",
        "asgiref.sync",
        "SyncToAsync",
        assigned=("threadlocal.main_event_loop",),
        used_by=("asgiref.sync:AsyncToSync.__call__",),
    ),
)
OWNS = Owned(names=frozenset({"threadlocal", "main_event_loop"}))


def sync_thread_loop():
    """The event loop whose sync_to_async call runs this thread; None in any other thread."""
    return getattr(SyncToAsync.threadlocal, "main_event_loop", None)
