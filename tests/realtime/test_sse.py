"""Server-Sent Events: the same events, Last-Event-ID replay, isolation, cleanup."""

import asyncio

from asgiref.sync import sync_to_async
from django_tenants.utils import tenant_context

from common.redis_client import redis_client
from realtime.engine.channel_names import control_group
from realtime.services import notification_create


class SSE:
    def __init__(self, response):
        self.lines = response.aiter_lines()

    async def next_event(self, timeout=5) -> dict:
        event: dict = {}
        while True:
            line = await asyncio.wait_for(self.lines.__anext__(), timeout)
            if line == "":
                if "data" in event:
                    return event
                event = {}
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(": ")
            event[key] = value


def notify(tenant, user, n):
    def run():
        with tenant_context(tenant):
            notification_create(user_id=user.pk, event="test", data={"n": n})

    return sync_to_async(run)()


async def open_stream(client, url, token, host, **headers):
    return client.stream("GET", url, headers={"Host": host, "Authorization": f"Bearer {token}", **headers}, timeout=10)


async def test_sse_streams_events_and_replays_after_last_event_id(asgi_server, world):
    import httpx

    acme, member, token = world["acme"], world["member"], world["member_token"]
    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        async with await open_stream(client, "/api/events", token, "acme.localhost") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = SSE(response)
            await asyncio.sleep(0.3)
            await notify(acme, member, 1)
            first = await stream.next_event()
        assert first["event"] == "notification.created" and '"n":1' in first["data"]

        await notify(acme, member, 2)
        await notify(acme, member, 3)
        async with await open_stream(
            client, "/api/events", token, "acme.localhost", **{"Last-Event-ID": first["id"]}
        ) as response:
            stream = SSE(response)
            replayed = [await stream.next_event(), await stream.next_event()]
    assert ['"n":2' in replayed[0]["data"], '"n":3' in replayed[1]["data"]] == [True, True]
    assert replayed[0]["id"] != first["id"]


async def test_sse_of_globex_never_carries_acmes_events(asgi_server, world):
    import httpx

    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        async with await open_stream(
            client, "/api/events", world["globex"].owner_token, "globex.localhost"
        ) as response:
            stream = SSE(response)
            await asyncio.sleep(0.3)
            await notify(world["acme"], world["member"], 1)
            try:
                event = await stream.next_event(timeout=1)
            except TimeoutError:
                event = None
    assert event is None


async def test_sse_refuses_other_tenants_and_anonymous_callers(asgi_server, world):
    import httpx

    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        response = await client.get(
            "/api/events", headers={"Host": "acme.localhost", "Authorization": f"Bearer {world['globex'].owner_token}"}
        )
        assert response.status_code == 403 and response.json()["error"]["code"] == "not_a_member"
        response = await client.get("/api/events", headers={"Host": "acme.localhost"})
        assert response.status_code == 401


async def test_sse_stops_its_work_when_the_client_goes_away(asgi_server, world):
    import httpx

    member = world["member"]
    pubsub_channel = "chan__group__" + control_group(world["acme"].pk, member.pk)
    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        async with await open_stream(client, "/api/events", world["member_token"], "acme.localhost") as response:
            stream = SSE(response)
            await asyncio.sleep(0.3)
            await notify(world["acme"], member, 1)
            assert (await stream.next_event())["event"] == "notification.created"
            assert redis_client().pubsub_numsub(pubsub_channel)[0][1] == 1
    for _ in range(50):
        if redis_client().pubsub_numsub(pubsub_channel)[0][1] == 0:
            break
        await asyncio.sleep(0.1)
    assert redis_client().pubsub_numsub(pubsub_channel)[0][1] == 0


async def test_sse_refuses_event_ids_redis_cannot_take_with_a_400(asgi_server, world):
    import httpx

    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        for bad in (
            "99999999999999999999999-0",
            "18446744073709551616-0",
            "1-18446744073709551616",
            "1_0-0",
            " 12-0",
            "١٢-0",
            "-1",
        ):
            response = await client.get(
                "/api/events",
                params={"last_event_id": bad},
                headers={"Host": "acme.localhost", "Authorization": f"Bearer {world['member_token']}"},
            )
            assert response.status_code == 400, (bad, response.text)
            assert response.json()["error"]["code"] == "validation_error"


async def test_sse_from_an_id_in_the_future_gets_a_reset_then_live_events(asgi_server, world):
    import httpx

    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        async with await open_stream(
            client, "/api/events?last_event_id=18446744073709551615-0", world["member_token"], "acme.localhost"
        ) as response:
            assert response.status_code == 200
            stream = SSE(response)
            assert (await stream.next_event())["event"] == "reset"
            await notify(world["acme"], world["member"], 1)
            assert (await stream.next_event())["event"] == "notification.created"


async def ended(stream: SSE, timeout: float = 2) -> bool:
    """True once the server ends the stream (events before the end are skipped)."""
    try:
        while True:
            await stream.next_event(timeout)
    except StopAsyncIteration:
        return True
    except TimeoutError:
        return False


async def test_revoking_the_token_ends_the_sse_streams_it_opened(asgi_server, world):
    import httpx

    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        async with await open_stream(client, "/api/events", world["member_token"], "acme.localhost") as response:
            assert response.status_code == 200
            stream = SSE(response)
            await asyncio.sleep(0.3)
            revoked = await client.delete(
                "/api/auth/token", headers={"Host": "localhost", "Authorization": f"Bearer {world['member_token']}"}
            )
            assert revoked.status_code == 204
            assert await ended(stream)


async def test_logging_out_ends_the_sessions_sse_streams(asgi_server, world):
    import httpx
    from django.test import Client

    def login():
        client = Client(HTTP_HOST="acme.localhost")
        client.force_login(world["member"])
        return client

    session = await sync_to_async(login)()
    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        async with client.stream(
            "GET",
            "/api/events",
            timeout=10,
            headers={"Host": "acme.localhost", "Cookie": f"sessionid={session.cookies['sessionid'].value}"},
        ) as response:
            assert response.status_code == 200
            stream = SSE(response)
            await asyncio.sleep(0.3)
            await sync_to_async(session.logout)()
            assert await ended(stream)


async def test_a_token_revoked_in_the_admin_ends_the_sse_streams_it_opened(asgi_server, world):
    import httpx

    from tests.realtime.admin_changes import admin_revoke_token

    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        async with await open_stream(client, "/api/events", world["member_token"], "acme.localhost") as response:
            assert response.status_code == 200
            stream = SSE(response)
            await asyncio.sleep(0.3)
            await sync_to_async(admin_revoke_token)(world["member_token"])
            assert await ended(stream)
