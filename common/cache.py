"""A Redis cache backend whose client is shared by the whole process.

Under ASGI Django builds its cache objects per request (the cache handler is
an asyncio-aware Local), and the stock RedisCache makes a new client — with a
new connection pool — for each. This one keeps one client per configuration,
so requests reuse connections (redis-py pools are thread- and fork-safe).
"""
from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

_clients: dict[tuple, object] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
