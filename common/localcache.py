"""Process-local caches in front of shared state, kept true by invalidations pushed through Redis.

A request on a tenant host needs the bearer token with its user, the host's tenant and the
caller's role in it. They live in PostgreSQL (the tenant ones also in the Redis cache):
reading them is two to four round trips per request. Each server process keeps what it
read here instead, and drops it when told:

- Code that changes such a row calls `invalidate(*tags)`: entries carrying a tag are
  dropped in this process at once, and the tags are published on the Redis channel
  CHANNEL (again after the commit, so a reader between the two cannot keep the old row);
  every process's listener thread drops them when the message arrives (milliseconds).
- Entries are trusted only while this process's listener is subscribed. When its
  connection drops, every cache is emptied and bypassed until it is subscribed again
  (a message published meanwhile is lost to it), so a lost message cannot leave a
  revoked token usable.
- A read that raced an invalidation is not kept: each invalidation (and each emptying,
  e.g. on resubscribing) bumps a generation, and a value loaded under an older one is
  returned but not stored.
- Every entry expires after its cache's `ttl` (a change that no code path invalidates,
  e.g. raw SQL, lasts at most that long); a cache holds at most `max_entries`.
- Values are stored pickled and unpickled on every hit: a request never shares a model
  instance with another.

`flush_everywhere()` empties every process's caches and waits until each listener has
done it (the tests start each test with it, as they start with an empty Redis).
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

CHANNEL = "platform:invalidate"
_FLUSH = "\x00flush:"  # message prefix: empty everything, then acknowledge
_SEPARATOR = "\n"


class _Listener:
    """The process's subscription to CHANNEL (one daemon thread, started on first use)."""

    def __init__(self) -> None:
        self.live = False
        self.subscriptions = 0  # times it (re)subscribed: after each, everything cached before is gone
        self.generation = 0
        self._pid = None
        self._lock = threading.Lock()

    def ensure(self) -> bool:
        """Start the thread in this process if needed; whether entries may be trusted."""
        if self._pid != os.getpid():  # first use, or a forked child: the parent's thread is not here
            with self._lock:
                if self._pid != os.getpid():
                    self._pid, self.live = os.getpid(), False
                    _clear_all()
                    threading.Thread(target=self._run, name="localcache-listener", daemon=True).start()
        return self.live

    def _run(self) -> None:
        import redis
        from django.conf import settings

        pid, backoff = os.getpid(), 0.1
        while self._pid == pid:
            pubsub = None
            try:
                client = redis.Redis.from_url(settings.REDIS_URL, health_check_interval=5)
                pubsub = client.pubsub(ignore_subscribe_messages=False)
                pubsub.subscribe(CHANNEL)
                while self._pid == pid:
                    message = pubsub.get_message(timeout=1.0)  # pings when idle: a dead link raises
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        _clear_all()  # whatever was cached before may have missed messages
                        self.live, backoff = True, 0.1
                        self.subscriptions += 1
                    elif message["type"] == "message":
                        self._handle(client, message["data"].decode())
            except Exception:  # connection lost: distrust everything until subscribed again
                if self.live:
                    logger.warning("local cache listener lost Redis; caches bypassed until it is back", exc_info=True)
                self.live = False
                _clear_all()
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass

    def _handle(self, client, data: str) -> None:
        self.generation += 1
        if data.startswith(_FLUSH):
            _clear_all()
            client.incr(data[len(_FLUSH) :])
            client.expire(data[len(_FLUSH) :], 60)
        else:
            _drop_tags(data.split(_SEPARATOR))


_listener = _Listener()
_caches: dict[str, LocalCache] = {}


def _clear_all() -> None:
    _listener.generation += 1  # a load in flight may predate what made us clear: not kept
    for cache in list(_caches.values()):
        cache.clear()


def _drop_tags(tags) -> None:
    _listener.generation += 1
    for cache in list(_caches.values()):
        cache.drop_tags(tags)


class LocalCache:
    def __init__(self, name: str, *, ttl: float, max_entries: int = 10_000):
        self.name, self.ttl, self.max_entries = name, ttl, max_entries
        self._entries: OrderedDict[str, tuple[float, bytes, tuple[str, ...]]] = OrderedDict()
        self._keys_by_tag: dict[str, set[str]] = {}  # an invalidation drops its keys, scans nothing
        self._lock = threading.Lock()
        _caches[name] = self

    def get_or_load(
        self, key: str, load: Callable[[], object], *, tags: Callable[[object], tuple | None] = lambda value: ()
    ):
        """The value under `key`, from this process if it is there and trusted, else
        `load()` (stored unless an invalidation came in meanwhile). `tags(value)`: the
        tags besides `key` whose invalidation drops the entry, or None not to store it."""
        if not _listener.ensure():
            return load()
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return pickle.loads(entry[1])
        generation = _listener.generation
        value = load()
        extra = tags(value)
        if extra is not None:
            self._store(key, value, (key, *extra), generation, now)
        return value

    def put(self, key: str, value, *, tags: tuple = (), generation: int | None = None) -> None:
        """Replace the entry after this process changed the value itself. `generation`:
        `generation()` from before the value was read; if anything was invalidated since,
        the value may be the old one and is not stored."""
        if _listener.ensure():
            self._store(
                key, value, (key, *tags), _listener.generation if generation is None else generation, time.monotonic()
            )

    def _store(self, key, value, tags, generation, now) -> None:
        data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        with self._lock:
            if generation != _listener.generation or not _listener.live:
                return
            self._remove(key)
            self._entries[key] = (now + self.ttl, data, tags)
            for tag in tags:
                self._keys_by_tag.setdefault(tag, set()).add(key)
            while len(self._entries) > self.max_entries:
                self._remove(next(iter(self._entries)))

    def _remove(self, key) -> None:
        """Drop `key`'s entry and its index (the lock held)."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for tag in entry[2]:
            keys = self._keys_by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._keys_by_tag[tag]

    def drop_tags(self, tags) -> None:
        with self._lock:
            for tag in set(tags):
                for key in list(self._keys_by_tag.get(tag, ())):
                    self._remove(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._keys_by_tag.clear()


def generation() -> int:
    """A mark to pass to `LocalCache.put` for a value read after it."""
    return _listener.generation


def invalidate(*tags: str) -> None:
    """Drop entries carrying any of `tags` here now, and in every process now and after the commit."""
    tags = tuple(t for t in tags if t)
    if not tags:
        return
    _drop_tags(tags)
    _publish(tags)
    transaction.on_commit(lambda: (_drop_tags(tags), _publish(tags)))


def _publish(tags) -> None:
    from .redis_client import redis_client

    try:
        redis_client().publish(CHANNEL, _SEPARATOR.join(tags))
    except Exception:  # Redis down: every listener lost it too, and distrusts its cache
        logger.warning("could not publish a cache invalidation", exc_info=True)


def flush_everywhere(timeout: float = 5.0) -> None:
    """Empty the caches of every process listening, and wait until each has."""
    from .redis_client import redis_client

    _clear_all()
    _listener.generation += 1
    ack = f"localcache:ack:{uuid.uuid4().hex}"
    client = redis_client()
    listeners = client.publish(CHANNEL, _FLUSH + ack)
    deadline = time.monotonic() + timeout
    while listeners and int(client.get(ack) or 0) < listeners:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{listeners} cache listeners did not acknowledge a flush in {timeout} s")
        time.sleep(0.002)
