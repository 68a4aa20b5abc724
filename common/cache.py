"""A Redis cache backend whose client is shared by the whole process.

Under ASGI Django builds its cache objects per request (the cache handler is
an asyncio-aware Local), and the stock RedisCache makes a new client — with a
new connection pool — for each. This one keeps one client per configuration,
so requests reuse connections (redis-py pools are thread- and fork-safe).
Where Django makes the client is behind common/compat/django.py.
"""

from __future__ import annotations

import threading

from .compat.django import RedisCacheBase

_clients: dict[tuple, object] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCacheBase):
    def client_make(self, servers: list, options: dict, client_class):
        key = (tuple(servers), repr(sorted(options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = client_class(servers, **options)
        return client
