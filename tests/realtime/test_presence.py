"""Presence across two server processes, and a crashed process fading out."""

import pytest

from tests.live import LiveServer
from tests.realtime.client import api, connect_member

FAST = {"REALTIME_PRESENCE_TTL_SECONDS": "3", "REALTIME_HEARTBEAT_SECONDS": "1"}


@pytest.fixture
def two_servers(world):
    servers = [LiveServer(FAST).start(), LiveServer(FAST).start()]
    yield servers
    for server in servers:
        server.stop()


async def presence_event(sock, name, user_id, timeout=5):
    """The next `name` event about `user_id` (one's own join comes first)."""
    while True:
        event = await sock.event(name, timeout=timeout)
        if event["data"]["user"] == user_id:
            return event


async def presence(server, world):
    async with api(server, "acme.localhost", world["acme"].owner_token) as client:
        response = await client.get(f"/api/rooms/{world['acme_room'].pk}/presence")
        assert response.status_code == 200
        return response.json()["users"]


async def test_presence_spans_processes_and_a_crashed_ones_users_leave(two_servers, world):
    one, two = two_servers
    room = f"room:{world['acme_room'].pk}"
    owner, member = world["acme"].owner, world["member"]
    alice = await connect_member(one, "acme.localhost", world["acme"].owner_token, subscribe=[room])
    bob = await connect_member(two, "acme.localhost", world["member_token"], subscribe=[room])
    assert bob.welcome["user"] == member.pk
    join = await presence_event(alice, "presence.join", member.pk)
    assert join["data"] == {"room": world["acme_room"].pk, "user": member.pk}
    assert await presence(one, world) == sorted([owner.pk, member.pk])
    assert await presence(two, world) == sorted([owner.pk, member.pk])

    two.kill()  # bob's server dies without saying goodbye
    await presence_event(alice, "presence.leave", member.pk, timeout=10)
    assert await presence(one, world) == [owner.pk]
    await alice.close()


async def test_closing_the_last_connection_announces_the_leave(two_servers, world):
    one, _ = two_servers
    room = f"room:{world['acme_room'].pk}"
    alice = await connect_member(one, "acme.localhost", world["acme"].owner_token, subscribe=[room])
    bob = await connect_member(one, "acme.localhost", world["member_token"], subscribe=[room])
    await presence_event(alice, "presence.join", world["member"].pk)
    await bob.close()
    await presence_event(alice, "presence.leave", world["member"].pk, timeout=3)
    await alice.close()
