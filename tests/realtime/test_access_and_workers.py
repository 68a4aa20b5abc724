"""Access changes close live sockets; events from a qcluster worker arrive."""

import asyncio

from asgiref.sync import sync_to_async

from tenants.audit import SYSTEM
from tenants.services import tenant_suspend
from tests.live import QCluster
from tests.realtime.client import api, connect_member


async def test_removing_a_member_closes_their_sockets_4403_within_a_second(asgi_server, world):
    sock = await connect_member(asgi_server, "acme.localhost", world["member_token"])
    other = await connect_member(asgi_server, "acme.localhost", world["acme"].owner_token)
    async with api(asgi_server, "localhost", world["acme"].owner_token) as platform:
        response = await platform.delete(f"/api/tenants/{world['acme'].pk}/members/{world['member'].pk}")
        assert response.status_code == 204
    assert await sock.closed_with(timeout=1) == 4403
    await other.send(type="ping")
    assert (await other.recv_type("pong"))["type"] == "pong"
    await other.close()


async def test_suspending_a_tenant_closes_every_socket_of_it_only(asgi_server, world):
    acme_sock = await connect_member(asgi_server, "acme.localhost", world["member_token"])
    globex_sock = await connect_member(asgi_server, "globex.localhost", world["globex"].owner_token)
    await sync_to_async(tenant_suspend)(tenant=world["acme"], actor=SYSTEM)
    assert await acme_sock.closed_with(timeout=1) == 4403
    await globex_sock.send(type="ping")
    assert (await globex_sock.recv_type("pong"))["type"] == "pong"
    await globex_sock.close()


async def test_revoking_the_token_closes_the_sockets_its_tickets_opened(asgi_server, world):
    sock = await connect_member(asgi_server, "acme.localhost", world["member_token"])
    async with api(asgi_server, "localhost", world["member_token"]) as platform:
        assert (await platform.delete("/api/auth/token")).status_code == 204
    assert await sock.closed_with(timeout=1) == 4403


async def test_an_event_published_by_a_qcluster_worker_reaches_the_socket(asgi_server, world):
    from django_q.tasks import async_task

    sock = await connect_member(asgi_server, "acme.localhost", world["member_token"])
    cluster = QCluster().start()
    try:
        await sync_to_async(async_task)(
            "realtime.tasks.realtime_notification_send",
            str(world["acme"].pk),
            world["member"].pk,
            "report.ready",
            {"report": 7},
        )
        event = await sock.event("notification.created", timeout=30)
    finally:
        await asyncio.to_thread(cluster.stop)
    assert event["data"]["event"] == "report.ready" and event["data"]["data"] == {"report": 7}
    await sock.close()
