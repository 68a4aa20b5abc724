"""Each server process keeps tokens, tenants and roles in memory (common/localcache.py):
a revocation, a suspension, a switched-off feature or a removed member still takes effect
on every process within a second, and a process that stopped hearing invalidations
stops trusting what it kept."""

from __future__ import annotations

import time

import httpx
import pytest
from django.db import connection

from accounts.models import AuthToken, User
from common import localcache
from common.redis_client import redis_client
from tenants.audit import SYSTEM
from tenants.models import Membership
from tenants.services import tenant_suspend
from tests.factories import token_make, user_make
from tests.live import LiveServer

ACME = "acme.localhost"
WITHIN = 1.0  # seconds: the promise
TICKET = "/api/realtime/ticket"


@pytest.fixture
def two_servers(committed):
    """Two servers (each one process per core): four processes that each cache on their own."""
    servers = [LiveServer().start(), LiveServer().start()]
    yield servers
    for server in servers:
        server.stop()


def get(server, path: str, token: str) -> httpx.Response:
    """GET `path`, or POST it when it is the ticket endpoint (the one route of `realtime`
    that does nothing but ask for the feature)."""
    method = "POST" if path == TICKET else "GET"
    return httpx.request(
        method, server.url + path, timeout=5, headers={"Host": ACME, "Authorization": f"Bearer {token}"}
    )


def warm(servers, path: str, token: str) -> None:
    """Enough requests that every worker of every server has served (and cached) the caller."""
    for server in servers:
        for _ in range(12):
            assert get(server, path, token).status_code == 200


def seconds_until(servers, path: str, token: str, status: int, limit: float = 3.0) -> float:
    """How long until every server answers `status` (asked in turn, every 20 ms)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if all(get(server, path, token).status_code == status for server in servers for _ in range(4)):
            return time.monotonic() - start
        time.sleep(0.02)
    return float("inf")


def test_a_revoked_token_is_refused_by_every_process_within_a_second(two_servers, acme):
    warm(two_servers, "/api/me", acme.owner_token)
    answer = httpx.delete(
        two_servers[0].url + "/api/auth/token",
        timeout=5,
        headers={"Host": ACME, "Authorization": f"Bearer {acme.owner_token}"},
    )
    assert answer.status_code == 204
    assert seconds_until(two_servers, "/api/me", acme.owner_token, 401) < WITHIN
    assert get(two_servers[1], "/api/me", acme.owner_token).json()["error"]["code"] == "token_revoked"


def test_a_deactivated_user_is_refused_by_every_process_within_a_second(two_servers, acme):
    warm(two_servers, "/api/me", acme.owner_token)
    user = User.objects.get(pk=acme.owner.pk)
    user.is_active = False
    user.save()  # as the admin does
    assert seconds_until(two_servers, "/api/me", acme.owner_token, 401) < WITHIN


def test_a_suspended_tenant_is_refused_by_every_process_within_a_second(two_servers, acme):
    warm(two_servers, "/api/tenant", acme.owner_token)
    tenant_suspend(tenant=acme, actor=SYSTEM)
    assert seconds_until(two_servers, "/api/tenant", acme.owner_token, 403) < WITHIN
    assert get(two_servers[1], "/api/tenant", acme.owner_token).json()["error"]["code"] == "tenant_suspended"


def test_a_switched_off_feature_is_refused_by_every_process_within_a_second(two_servers, acme):
    warm(two_servers, TICKET, acme.owner_token)
    answer = httpx.patch(
        f"{two_servers[0].url}/api/tenants/{acme.pk}/settings",
        timeout=5,
        json={"features": {"realtime": False}},
        headers={"Host": "localhost", "Authorization": f"Bearer {acme.owner_token}"},
    )
    assert answer.status_code == 200, answer.text
    assert seconds_until(two_servers, TICKET, acme.owner_token, 403) < WITHIN


def test_a_removed_member_is_refused_by_every_process_within_a_second(two_servers, acme):
    member = user_make("member@acme.test")
    Membership.objects.create(tenant=acme, user=member, role="member")
    token = token_make(member)
    warm(two_servers, "/api/tenant", token)
    Membership.objects.filter(tenant=acme, user=member).delete()
    assert seconds_until(two_servers, "/api/tenant", token, 403) < WITHIN


def listening() -> int:
    """Wait until this process's listener is subscribed; how many times it has subscribed."""
    deadline = time.monotonic() + 5
    while not localcache._listener.ensure():
        assert time.monotonic() < deadline, "the local cache listener did not subscribe"
        time.sleep(0.01)
    return localcache._listener.subscriptions


def test_a_process_that_lost_its_invalidations_forgets_what_it_cached(committed, api, acme):
    """A change no message announces (raw SQL here; in life, a message published while the
    listener was disconnected) is seen once the listener has reconnected: subscribing
    again empties the caches, since anything could have been missed meanwhile."""
    subscribed = listening()
    assert api.get("/api/me", host=ACME, token=acme.owner_token).status_code == 200  # cached now
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_authtoken SET revoked_at = now() WHERE user_id = %s", [acme.owner.pk])
    assert api.get("/api/me", host=ACME, token=acme.owner_token).status_code == 200  # this process's copy

    redis_client().execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    deadline = time.monotonic() + 5
    while listening() == subscribed:
        assert time.monotonic() < deadline, "the listener did not resubscribe"
        time.sleep(0.01)
    assert api.get("/api/me", host=ACME, token=acme.owner_token).status_code == 401


def test_a_token_is_not_cached_before_it_exists_and_unknown_tokens_are_not_kept(committed, api, acme):
    """Made-up tokens must not crowd out real ones: a miss is not stored."""
    for i in range(20):
        assert api.get("/api/me", host=ACME, token=f"pt_made-up-{i}").status_code == 401
    tokens = localcache._caches["token"]
    assert all(AuthToken.objects.filter(digest=key.split(":", 1)[1]).exists() for key in tokens._entries)
