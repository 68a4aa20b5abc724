"""Over the real server: the realtime feature flag and suspension hold on every
door of realtime — tickets, WebSocket connect, SSE — and end what is open."""

import asyncio

import httpx
import websockets
from asgiref.sync import sync_to_async

from tenants.audit import SYSTEM
from tenants.services import tenant_suspend
from tests.realtime.client import Socket, api, connect_member, ticket_for


async def realtime_switch(server, tenant, on: bool):
    async with api(server, "localhost", tenant.owner_token) as platform:
        response = await platform.put(f"/api/tenants/{tenant.pk}/settings", json={"features": {"realtime": on}})
        assert response.status_code == 200, response.text


async def closed_with(sock: Socket, timeout: float = 5) -> tuple[int, str]:
    try:
        while True:
            await asyncio.wait_for(sock.ws.recv(), timeout)
    except websockets.ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (closed.code, "")


async def stream_ended(response, timeout: float = 3) -> bool:
    """True once the server ends the stream (heartbeats and events read past)."""

    async def drain():
        async for _ in response.aiter_lines():
            pass

    try:
        await asyncio.wait_for(drain(), timeout)
    except TimeoutError:
        return False
    return True


def sse(client, host, token, **headers):
    return client.stream(
        "GET", "/api/events", headers={"Host": host, "Authorization": f"Bearer {token}", **headers}, timeout=10
    )


async def test_switching_realtime_off_closes_open_sockets_and_streams_of_that_tenant_only(asgi_server, world):
    acme, token = world["acme"], world["member_token"]
    sock = await connect_member(asgi_server, "acme.localhost", token)
    globex_sock = await connect_member(asgi_server, "globex.localhost", world["globex"].owner_token)
    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        async with sse(client, "acme.localhost", token) as stream:
            assert stream.status_code == 200
            await asyncio.sleep(0.3)
            await realtime_switch(asgi_server, acme, False)
            assert await closed_with(sock, timeout=1) == (4403, "feature_disabled")
            assert await stream_ended(stream)
    await globex_sock.send(type="ping")
    assert (await globex_sock.recv_type("pong"))["type"] == "pong"
    await globex_sock.close()


async def test_with_realtime_off_no_ticket_stream_or_socket_opens(asgi_server, world):
    acme, token = world["acme"], world["member_token"]
    ticket = await ticket_for(asgi_server, "acme.localhost", token)  # issued while it was on
    await realtime_switch(asgi_server, acme, False)
    sock = await Socket.open(asgi_server, "acme.localhost", ticket=ticket)
    assert await closed_with(sock) == (4403, "feature_disabled")
    async with api(asgi_server, "acme.localhost", token) as tenant_api:
        refused_ticket = await tenant_api.post("/api/realtime/ticket")
        refused_stream = await tenant_api.get("/api/events")
    for response in (refused_ticket, refused_stream):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "feature_disabled"
    await realtime_switch(asgi_server, acme, True)
    sock = await connect_member(asgi_server, "acme.localhost", token)  # and back on, it works again
    await sock.close()


async def test_a_spelling_of_the_id_cached_before_a_suspension_opens_no_socket_or_stream(asgi_server, world):
    acme, token = world["acme"], world["member_token"]
    header = {"X-Tenant-ID": acme.pk.hex}
    async with httpx.AsyncClient(base_url=asgi_server.url) as client:
        response = await client.post(
            "/api/realtime/ticket", headers={"Host": "localhost", "Authorization": f"Bearer {token}", **header}
        )
        assert response.status_code == 200  # the platform host, the tenant named in hex: cached so
        ticket = response.json()["ticket"]
        await sync_to_async(tenant_suspend)(tenant=acme, actor=SYSTEM)
        sock = await Socket.open(asgi_server, "localhost", ticket=ticket, headers=header)
        assert await closed_with(sock) == (4403, "tenant_suspended")
        async with sse(client, "localhost", token, **header) as stream:
            await stream.aread()
            assert stream.status_code == 403
            assert stream.json()["error"]["code"] == "tenant_suspended"
