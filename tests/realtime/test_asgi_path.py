"""Off uvicorn's sansio protocol (here: wsproto) events take the plain ASGI
path instead of the shared-frame fast path: the same delivery rules hold."""
import pytest

from tests.live import LiveServer
from tests.realtime.client import api, connect_member


@pytest.fixture(scope="module")
def wsproto_server(django_db_setup):
    server = LiveServer(ws="wsproto").start()
    yield server
    server.stop()


async def test_events_reach_every_subscriber_but_the_sender(wsproto_server, world):
    room = f"room:{world['acme_room'].pk}"
    alice = await connect_member(wsproto_server, "acme.localhost", world["acme"].owner_token, subscribe=[room])
    bob = await connect_member(wsproto_server, "acme.localhost", world["member_token"], subscribe=[room])
    await alice.send(type="message", room=world["acme_room"].pk, body="hello", ref="r1")
    ack = await alice.recv_type("ack")
    event = (await bob.events(1))[0]
    assert event["channel"] == room and event["data"]["body"] == "hello" and event["data"]["id"] == ack["id"]
    assert await alice.nothing_for(0.5)
    await alice.close()
    await bob.close()


async def test_a_resumed_client_gets_what_it_missed_in_order_then_live(wsproto_server, world):
    room_id = world["acme_room"].pk
    async with api(wsproto_server, "acme.localhost", world["acme"].owner_token) as owner:
        sock = await connect_member(wsproto_server, "acme.localhost", world["member_token"],
                                    subscribe=[f"room:{room_id}"])
        await owner.post(f"/api/rooms/{room_id}/messages", json={"body": "m1"})
        last_seen = (await sock.event("message.created"))["id"]
        await sock.close()
        for body in ("m2", "m3"):
            await owner.post(f"/api/rooms/{room_id}/messages", json={"body": body})

        again = await connect_member(wsproto_server, "acme.localhost", world["member_token"],
                                     subscribe=[f"room:{room_id}"], live=False)
        await again.send(type="resume", last_event_id=last_seen)
        replayed = [await again.event("message.created") for _ in range(2)]
        await owner.post(f"/api/rooms/{room_id}/messages", json={"body": "m4"})
        live = await again.event("message.created")
        assert await again.nothing_for(0.3)
    assert [e["data"]["body"] for e in replayed + [live]] == ["m2", "m3", "m4"]
    await again.close()
