"""Races between a request that read a cached row and the invalidation of that row
(common/localcache.py): whatever the interleaving, once an invalidation has been
delivered the process must not go on serving the old row."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from accounts.models import AuthToken
from accounts.selectors import TokenRevoked, token_get_valid
from accounts.services import token_revoke
from accounts.tokens import token_digest
from common import localcache
from common.redis_client import redis_client


def listening() -> int:
    deadline = time.monotonic() + 5
    while not localcache._listener.ensure():
        assert time.monotonic() < deadline, "the local cache listener did not subscribe"
        time.sleep(0.01)
    return localcache._listener.subscriptions


def in_thread(target):
    """Run `target` in a thread with its own database connection; (thread, result box)."""
    box = {}

    def run():
        try:
            box["value"] = target()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def test_a_token_revoked_while_a_request_records_its_use_stays_revoked(committed, acme):
    """A request that validated the token and is writing `last_used_at` (the token's first
    use, or its first in LAST_USED_PRECISION) while the token is revoked must not put its
    pre-revocation copy back into the cache afterwards: the revoked token would then be
    accepted by this process until the entry expires (60 s)."""
    listening()
    raw = acme.owner_token
    reached, go = threading.Event(), threading.Event()

    def pause_before_last_used(execute, sql, params, many, context):
        if sql.startswith('UPDATE "accounts_authtoken" SET "last_used_at"'):
            reached.set()
            assert go.wait(10)
        return execute(sql, params, many, context)

    def request():
        with connection.execute_wrapper(pause_before_last_used):
            return token_get_valid(raw)

    thread, box = in_thread(request)
    assert reached.wait(10)
    token_revoke(token=AuthToken.objects.get(digest=token_digest(raw)))  # invalidations published
    go.set()
    thread.join(10)
    assert "error" not in box, box  # the request in flight was authenticated before the revocation

    with pytest.raises(TokenRevoked):
        token_get_valid(raw)


def test_a_value_loaded_across_a_reconnect_of_the_listener_is_not_kept(committed):
    """A load that started before the listener lost Redis and ended after it subscribed
    again may hold a row whose invalidation was published meanwhile (and lost): it is
    returned but not kept."""
    subscribed = listening()
    cache = localcache.LocalCache("race-test", ttl=60)

    def load_while_reconnecting():
        redis_client().execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        deadline = time.monotonic() + 5
        while listening() == subscribed:
            assert time.monotonic() < deadline, "the listener did not resubscribe"
            time.sleep(0.01)
        return "read before the change"

    try:
        assert cache.get_or_load("k", load_while_reconnecting) == "read before the change"
        assert cache.get_or_load("k", lambda: "fresh") == "fresh"
    finally:
        localcache._caches.pop("race-test", None)


def test_an_invalidation_costs_the_same_however_much_is_cached(committed):
    """Every process handles every invalidation published (a nightly clean-up deleting
    dead tokens publishes two per token, and anyone can log in as often as the anonymous
    rate allows to make tokens): dropping a tag must not scan every entry of every cache."""
    listening()
    cache = localcache.LocalCache("scan-test", ttl=60, max_entries=20_000)
    try:
        for i in range(10_000):
            cache.get_or_load(f"k{i}", lambda i=i: i, tags=lambda value: (f"user:{value}",))
        assert len(cache._entries) == 10_000
        start = time.perf_counter()
        for i in range(2_000):
            cache.drop_tags([f"token:unrelated-{i}"])
        elapsed = time.perf_counter() - start
        cache.drop_tags(["user:7", "k9"])
        assert cache.get_or_load("k7", lambda: "reloaded") == "reloaded"
        assert cache.get_or_load("k9", lambda: "reloaded") == "reloaded"
        assert cache.get_or_load("k8", lambda: "reloaded") == 8
    finally:
        localcache._caches.pop("scan-test", None)
    assert elapsed < 0.5, f"2,000 invalidations took {elapsed:.2f} s over 10,000 entries"
