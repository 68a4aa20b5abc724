"""Chat: stored, broadcast to the room except the sender, who gets an ack."""

from asgiref.sync import sync_to_async
from django_tenants.utils import tenant_context

from realtime.models import Message
from tests.realtime.client import api, connect_member


async def test_a_message_frame_is_stored_acked_to_the_sender_and_sent_to_the_others(either_server, world):
    room = f"room:{world['acme_room'].pk}"
    alice = await connect_member(either_server, "acme.localhost", world["acme"].owner_token, subscribe=[room])
    bob = await connect_member(either_server, "acme.localhost", world["member_token"], subscribe=[room])
    await alice.send(type="message", room=world["acme_room"].pk, body="hello", ref="r1")
    ack = await alice.recv_type("ack")
    event = (await bob.events(1))[0]
    assert event["event"] == "message.created" and event["channel"] == room
    assert event["data"]["body"] == "hello" and event["data"]["id"] == ack["id"] and ack["ref"] == "r1"
    assert await alice.nothing_for(0.5)  # the sender does not get its own event

    def stored():
        with tenant_context(world["acme"]):
            return list(Message.objects.values_list("pk", "body"))

    assert await sync_to_async(stored)() == [(ack["id"], "hello")]
    await alice.close()
    await bob.close()


async def test_a_message_posted_over_http_reaches_every_subscriber(asgi_server, world):
    room_id = world["acme_room"].pk
    bob = await connect_member(asgi_server, "acme.localhost", world["member_token"], subscribe=[f"room:{room_id}"])
    async with api(asgi_server, "acme.localhost", world["acme"].owner_token) as client:
        response = await client.post(f"/api/rooms/{room_id}/messages", json={"body": "over http"})
        assert response.status_code == 201
        listing = (await client.get(f"/api/rooms/{room_id}/messages")).json()
    assert (await bob.events(1))[0]["data"]["body"] == "over http"
    assert [m["body"] for m in listing["results"]] == ["over http"]
    await bob.close()


async def test_two_tenants_with_the_same_room_id_never_see_each_others_events(asgi_server, world):
    assert world["acme_room"].pk == world["globex_room"].pk
    room = f"room:{world['acme_room'].pk}"
    acme_sock = await connect_member(asgi_server, "acme.localhost", world["member_token"], subscribe=[room])
    globex_sock = await connect_member(asgi_server, "globex.localhost", world["globex"].owner_token, subscribe=[room])
    await globex_sock.send(type="message", room=world["globex_room"].pk, body="globex only")
    await globex_sock.recv_type("ack")
    assert await acme_sock.nothing_for(0.7)
    await acme_sock.close()
    await globex_sock.close()


async def test_a_notification_is_stored_and_pushed_to_its_user(asgi_server, world):
    from realtime.services import notification_create

    member = world["member"]
    sock = await connect_member(asgi_server, "acme.localhost", world["member_token"])

    def notify():
        with tenant_context(world["acme"]):
            return notification_create(user_id=member.pk, event="invoice.paid", data={"amount": 42}).pk

    notification_id = await sync_to_async(notify)()
    event = (await sock.events(1))[0]
    assert event["channel"] == f"user:{member.pk}" and event["event"] == "notification.created"
    assert event["data"]["id"] == notification_id and event["data"]["data"] == {"amount": 42}
    async with api(asgi_server, "acme.localhost", world["member_token"]) as client:
        listing = (await client.get("/api/notifications")).json()
        assert [n["id"] for n in listing["results"]] == [notification_id]
        read = await client.post(f"/api/notifications/{notification_id}/read")
        assert read.status_code == 200 and read.json()["read_at"]
    async with api(asgi_server, "acme.localhost", world["acme"].owner_token) as client:
        response = await client.post(f"/api/notifications/{notification_id}/read")
        assert response.status_code == 404  # not the owner's notification
    await sock.close()


async def test_an_admin_announcement_reaches_every_member_connection(asgi_server, world):
    sock = await connect_member(asgi_server, "acme.localhost", world["member_token"])
    async with api(asgi_server, "acme.localhost", world["member_token"]) as client:
        assert (await client.post("/api/realtime/announcements", json={"text": "hi"})).status_code == 403
    async with api(asgi_server, "acme.localhost", world["acme"].owner_token) as client:
        assert (await client.post("/api/realtime/announcements", json={"text": "hi"})).status_code == 202
    event = (await sock.events(1))[0]
    assert (event["channel"], event["event"], event["data"]) == ("tenant", "announcement", {"text": "hi"})
    await sock.close()


async def test_a_message_frame_with_a_nul_is_an_error_frame_and_the_socket_lives(asgi_server, world):
    """PostgreSQL text holds no NUL: the frame passed validation and the socket died with 1011 (fuzzing)."""
    room_id = world["acme_room"].pk
    alice = await connect_member(
        asgi_server, "acme.localhost", world["acme"].owner_token, subscribe=[f"room:{room_id}"]
    )
    await alice.send(type="message", room=room_id, body="a\x00b", ref="r1")
    error = await alice.recv_type("error")
    assert error["code"] == "validation_error"
    await alice.send(type="ping")
    assert (await alice.recv_type("pong"))["type"] == "pong"
    async with api(asgi_server, "acme.localhost", world["acme"].owner_token) as client:  # HTTP refuses it too
        response = await client.post(f"/api/rooms/{room_id}/messages", json={"body": "a\x00b"})
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    await alice.close()


def _messages(tenant) -> list[str]:
    with tenant_context(tenant):
        return list(Message.objects.values_list("body", flat=True))


async def test_posting_to_a_private_room_needs_its_membership_and_stores_nothing_otherwise(asgi_server, world):
    private = world["private_room"].pk
    async with api(asgi_server, "acme.localhost", world["member_token"]) as outsider:
        refused = await outsider.post(f"/api/rooms/{private}/messages", json={"body": "let me in"})
    async with api(asgi_server, "acme.localhost", world["acme"].owner_token) as owner:
        accepted = await owner.post(f"/api/rooms/{private}/messages", json={"body": "owners only"})
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "room_not_found"
    assert accepted.status_code == 201 and accepted.json()["room"] == private
    assert await sync_to_async(_messages)(world["acme"]) == ["owners only"]


async def test_another_tenants_room_is_out_of_reach_by_its_id(asgi_server, world):
    """globex's user posting to room 2 (acme's private room; globex has only room 1) through
    globex's host, and to room 1 through acme's host: neither reaches acme."""
    async with api(asgi_server, "globex.localhost", world["globex"].owner_token) as globex:
        own_host = await globex.post(f"/api/rooms/{world['private_room'].pk}/messages", json={"body": "x"})
    async with api(asgi_server, "acme.localhost", world["globex"].owner_token) as globex_at_acme:
        acme_host = await globex_at_acme.post(f"/api/rooms/{world['acme_room'].pk}/messages", json={"body": "x"})
    assert own_host.status_code == 404 and own_host.json()["error"]["code"] == "room_not_found"
    assert acme_host.status_code in (403, 404)
    assert await sync_to_async(_messages)(world["acme"]) == []
