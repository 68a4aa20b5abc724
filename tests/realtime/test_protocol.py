"""Frames in and out, and every kind of bad input, on a real server."""

import json

from tests.realtime.client import connect_member


async def test_ping_answers_pong(asgi_server, world):
    sock = await connect_member(asgi_server, "acme.localhost", world["acme"].owner_token)
    await sock.send(type="ping")
    assert await sock.recv() == {"type": "pong"}
    await sock.close()


async def test_invalid_json_gets_an_error_frame_and_the_socket_stays(asgi_server, world):
    sock = await connect_member(asgi_server, "acme.localhost", world["acme"].owner_token)
    await sock.ws.send("{not json")
    assert (await sock.recv_type("error"))["code"] == "invalid_json"
    await sock.send(type="ping")
    assert (await sock.recv())["type"] == "pong"
    await sock.close()


async def test_an_unknown_frame_type_gets_an_error_frame(asgi_server, world):
    sock = await connect_member(asgi_server, "acme.localhost", world["acme"].owner_token)
    await sock.send(type="teleport")
    assert (await sock.recv_type("error"))["code"] == "unknown_frame_type"
    await sock.send(type="subscribe", channel="room:1", extra="field")
    assert (await sock.recv_type("error"))["code"] == "invalid_frame"
    await sock.close()


async def test_a_frame_over_64_kib_closes_4400(asgi_server, world):
    sock = await connect_member(asgi_server, "acme.localhost", world["acme"].owner_token)
    await sock.ws.send(json.dumps({"type": "message", "room": 1, "body": "x" * 70_000}))
    assert await sock.closed_with() == 4400


async def test_another_users_channel_is_forbidden(asgi_server, world):
    sock = await connect_member(asgi_server, "acme.localhost", world["member_token"])
    await sock.send(type="subscribe", channel=f"user:{world['acme'].owner.pk}")
    assert (await sock.recv_type("error"))["code"] == "channel_forbidden"
    await sock.send(type="subscribe", channel="lobby")
    assert (await sock.recv_type("error"))["code"] == "invalid_channel"
    await sock.close()


async def test_a_private_room_admits_its_members_only(asgi_server, world):
    room = f"room:{world['private_room'].pk}"
    outsider = await connect_member(asgi_server, "acme.localhost", world["member_token"])
    await outsider.send(type="subscribe", channel=room)
    assert (await outsider.recv_type("error"))["code"] == "room_not_found"
    owner = await connect_member(asgi_server, "acme.localhost", world["acme"].owner_token, subscribe=[room])
    await outsider.close()
    await owner.close()


async def test_a_room_that_exists_only_in_another_tenant_is_not_found(asgi_server, world):
    from asgiref.sync import sync_to_async
    from django_tenants.utils import tenant_context

    from realtime.models import Room

    def globex_only_room():
        with tenant_context(world["globex"]):
            for name in ("b", "secret"):  # globex has room 1; acme has rooms 1 and 2 only
                room = Room.objects.create(name=name, created_by=world["globex"].owner)
            return room.pk

    room_id = await sync_to_async(globex_only_room)()
    assert room_id == 3
    sock = await connect_member(asgi_server, "acme.localhost", world["acme"].owner_token)
    await sock.send(type="subscribe", channel=f"room:{room_id}")
    assert (await sock.recv_type("error"))["code"] == "room_not_found"
    await sock.send(type="message", room=room_id, body="hello?")
    assert (await sock.recv_type("error"))["code"] == "room_not_found"
    await sock.close()


async def test_flooding_frames_closes_4429_and_others_are_still_served(asgi_server, world):
    flooder = await connect_member(asgi_server, "acme.localhost", world["member_token"])
    calm = await connect_member(asgi_server, "acme.localhost", world["acme"].owner_token)
    for _ in range(150):
        try:
            await flooder.send(type="ping")
        except Exception:  # noqa: BLE001 - the server may close mid-flood
            break
    assert await flooder.closed_with() == 4429
    await calm.send(type="ping")
    assert (await calm.recv_type("pong"))["type"] == "pong"
    await calm.close()


async def test_a_resume_id_beyond_redis_range_gets_an_error_frame_and_the_socket_stays(asgi_server, world):
    sock = await connect_member(asgi_server, "acme.localhost", world["member_token"], live=False)
    for bad in (
        "99999999999999999999-0",
        "18446744073709551616-0",
        "1-18446744073709551616",
        "99999999999999999999999-0",
        "١٢-0",
    ):
        await sock.send(type="resume", last_event_id=bad)
        assert (await sock.recv_type("error"))["code"] == "invalid_frame", bad
    await sock.send(type="ping")
    assert (await sock.recv_type("pong"))["type"] == "pong"
    await sock.close()


async def test_a_resume_id_from_the_future_gets_a_reset_then_live_events(asgi_server, world):
    from asgiref.sync import sync_to_async

    from realtime.engine.eventlog import event_append

    sock = await connect_member(asgi_server, "acme.localhost", world["member_token"], live=False)
    await sock.send(type="resume", last_event_id="18446744073709551615-18446744073709551615")
    assert (await sock.recv_type("reset"))["type"] == "reset"
    await sync_to_async(event_append)(str(world["acme"].pk), "tenant", "announcement", {"text": "live"})
    assert (await sock.event("announcement"))["data"]["text"] == "live"
    await sock.close()
