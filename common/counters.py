"""Usage counters added up in the process and written to Redis once a second.

Counting every API request with its own INCR was a round trip per request for a
figure read once in a while (the tenant's usage). `count()` adds to a dict;
a daemon thread writes the sums with one pipeline every FLUSH_SECONDS, and
`flush()` writes them at once (a reader of the figures calls it first, so its
own process's counts are in). A process killed hard loses at most its last
second of counts; a clean exit writes them (atexit).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import Counter

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0

_lock = threading.Lock()
_pending: Counter = Counter()
_ttls: dict[str, int] = {}
_started_in: int | None = None


def count(key: str, *, ttl_seconds: int, amount: int = 1) -> None:
    """Add `amount` to Redis key `key` (which expires `ttl_seconds` after its last write)."""
    _ensure_flusher()
    with _lock:
        _pending[key] += amount
        _ttls[key] = ttl_seconds


def flush() -> None:
    """Write this process's pending counts now."""
    with _lock:
        pending, ttls = dict(_pending), dict(_ttls)
        _pending.clear()
        _ttls.clear()
    if not pending:
        return
    from .redis_client import redis_client

    try:
        pipe = redis_client().pipeline(transaction=False)
        for key, amount in pending.items():
            pipe.incrby(key, amount)
            pipe.expire(key, ttls[key])
        pipe.execute()
    except Exception:  # Redis away: keep them for the next flush
        logger.warning("usage counters not written; kept for the next flush", exc_info=True)
        with _lock:
            _pending.update(pending)
            for key, ttl in ttls.items():
                _ttls.setdefault(key, ttl)


def _ensure_flusher() -> None:
    global _started_in
    if _started_in == os.getpid():
        return
    with _lock:
        if _started_in == os.getpid():
            return
        _started_in = os.getpid()
        _pending.clear()  # a forked child's copy of its parent's counts is the parent's to write
        _ttls.clear()
    threading.Thread(target=_flush_every, name="usage-counters", daemon=True).start()


def _flush_every() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        flush()


atexit.register(flush)
