"""No event lost across a reconnect: replay in order, then live, no duplicates."""

import asyncio

from common.redis_client import redis_client
from realtime.engine.channel_names import stream_key
from tests.realtime.client import api, connect_member


async def post(client, room_id, body):
    response = await client.post(f"/api/rooms/{room_id}/messages", json={"body": body})
    assert response.status_code == 201, response.text


async def seen_then_gone(server, world, owner, body: str) -> str:
    """The member sees one message on the room, then disconnects: its last event id."""
    room_id = world["acme_room"].pk
    sock = await connect_member(server, "acme.localhost", world["member_token"], subscribe=[f"room:{room_id}"])
    await post(owner, room_id, body)
    last_seen = (await sock.event("message.created"))["id"]
    await sock.close()
    return last_seen


async def test_a_resumed_client_gets_what_it_missed_in_order_then_live(either_server, world):
    room_id = world["acme_room"].pk
    room = f"room:{room_id}"
    async with api(either_server, "acme.localhost", world["acme"].owner_token) as owner:
        last_seen = await seen_then_gone(either_server, world, owner, "m1")

        for body in ("m2", "m3", "m4"):
            await post(owner, room_id, body)

        again = await connect_member(
            either_server, "acme.localhost", world["member_token"], subscribe=[room], live=False
        )
        await again.send(type="resume", last_event_id=last_seen)
        replayed = [await again.event("message.created") for _ in range(3)]
        await post(owner, room_id, "m5")
        live = await again.event("message.created")
    assert [e["data"]["body"] for e in replayed + [live]] == ["m2", "m3", "m4", "m5"]
    ids = [tuple(map(int, e["id"].split("-"))) for e in replayed + [live]]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert await again.nothing_for(0.5)
    await again.close()


async def test_events_published_during_the_resume_are_neither_lost_nor_doubled(either_server, world):
    room_id = world["acme_room"].pk
    room = f"room:{room_id}"
    async with api(either_server, "acme.localhost", world["acme"].owner_token) as owner:
        last_seen = await seen_then_gone(either_server, world, owner, "start")
        for i in range(10):
            await post(owner, room_id, f"missed-{i}")

        async def publish_meanwhile():
            for i in range(20):
                await post(owner, room_id, f"during-{i}")

        publisher = asyncio.create_task(publish_meanwhile())
        again = await connect_member(
            either_server, "acme.localhost", world["member_token"], subscribe=[room], live=False
        )
        await again.send(type="resume", last_event_id=last_seen)
        await publisher
        got = [(await again.event("message.created"))["data"]["body"] for _ in range(30)]
    assert got == [f"missed-{i}" for i in range(10)] + [f"during-{i}" for i in range(20)]
    assert await again.nothing_for(0.5)
    await again.close()


async def test_a_client_behind_the_log_window_gets_reset(asgi_server, world, settings):
    from asgiref.sync import sync_to_async

    from realtime.engine.eventlog import event_append

    room_id = world["acme_room"].pk
    async with api(asgi_server, "acme.localhost", world["acme"].owner_token) as owner:
        last_seen = await seen_then_gone(asgi_server, world, owner, "old")
    # The log moves on past it: a tiny cap makes the publish script trim it.
    settings.REALTIME = {**settings.REALTIME, "EVENT_LOG_MAX": 10}
    for i in range(300):
        await sync_to_async(event_append)(str(world["acme"].pk), "tenant", "announcement", {"text": str(i)})
    assert redis_client().xlen(stream_key(world["acme"].pk)) < 300
    again = await connect_member(
        asgi_server, "acme.localhost", world["member_token"], subscribe=[f"room:{room_id}"], live=False
    )
    await again.send(type="resume", last_event_id=last_seen)
    assert (await again.recv_type("reset"))["type"] == "reset"
    await again.close()


async def test_a_client_whose_log_was_empty_at_connect_resumes_without_reset(asgi_server, world):
    redis_client().delete(stream_key(world["acme"].pk))
    first = await connect_member(asgi_server, "acme.localhost", world["member_token"], live=False)
    marker = first.welcome["last_event_id"]
    await first.close()
    from asgiref.sync import sync_to_async
    from django_tenants.utils import tenant_context

    from realtime.services import notification_create

    def notify():
        with tenant_context(world["acme"]):
            notification_create(user_id=world["member"].pk, event="while.away", data={})

    await sync_to_async(notify)()
    again = await connect_member(asgi_server, "acme.localhost", world["member_token"], live=False)
    await again.send(type="resume", last_event_id=marker)
    event = await again.recv_type("event")
    assert event["data"]["event"] == "while.away"
    await again.close()


async def test_resume_after_going_live_is_refused(asgi_server, world):
    sock = await connect_member(asgi_server, "acme.localhost", world["member_token"])
    await sock.send(type="resume", last_event_id="1-0")
    assert (await sock.recv_type("error"))["code"] == "resume_too_late"
    await sock.close()
