"""A socket that stops reading is dropped (4408); logging out closes sockets."""

import asyncio
import base64
import os
import socket

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from realtime.engine.eventlog import event_append
from tests.live import LiveServer
from tests.realtime.admin_changes import admin_deactivate, admin_delete_token, admin_revoke_token
from tests.realtime.client import Socket, connect_member, ticket_for


@pytest.fixture
def impatient_server(world):
    server = LiveServer({"REALTIME_SEND_TIMEOUT_SECONDS": "1"}).start()
    yield server
    server.stop()


def stalled_socket(server, ticket: str) -> socket.socket:
    """A WebSocket client that completes the handshake, then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/?ticket={ticket} HTTP/1.1\r\nHost: acme.localhost\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert b" 101 " in sock.recv(1024)
    payload, mask = b'{"type":"ping"}', os.urandom(4)  # go live, then never read again
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    return sock


def connection_ends(sock: socket.socket, seconds: float) -> bool:
    """Read what the server sent until it closes or resets the connection."""
    sock.settimeout(seconds)
    try:
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


async def publish_big(tenant_id: str, healthy, count: int) -> None:
    """`count` 60 KB events; the healthy client reads each one as it comes."""
    for i in range(count):
        await sync_to_async(event_append)(tenant_id, "tenant", "announcement", {"text": f"{i}:" + "x" * 60_000})
        event = await healthy.event("announcement", timeout=5)
        assert event["data"]["text"].startswith(f"{i}:")


async def test_a_client_that_stops_reading_is_dropped_not_buffered(impatient_server, world):
    acme = str(world["acme"].pk)
    ticket = await ticket_for(impatient_server, "acme.localhost", world["member_token"])
    stalled = await asyncio.to_thread(stalled_socket, impatient_server, ticket)
    healthy = await connect_member(impatient_server, "acme.localhost", world["acme"].owner_token)

    await publish_big(acme, healthy, 200)  # 12 MB the stalled client never reads: its sends block
    await asyncio.sleep(1.5)  # the stall deadline (REALTIME_SEND_TIMEOUT_SECONDS=1) passes
    settled = impatient_server.rss_bytes()
    await publish_big(acme, healthy, 200)  # once dropped, nothing more is queued for it
    growth = impatient_server.rss_bytes() - settled
    assert growth < 4 * 1024 * 1024, f"server grew {growth / 2**20:.1f} MiB after the drop"
    assert await asyncio.to_thread(connection_ends, stalled, 5), "the dropped client's connection is still open"
    stalled.close()
    await healthy.send(type="ping")
    assert (await healthy.recv_type("pong"))["type"] == "pong"
    await healthy.close()


async def test_logging_out_closes_the_sessions_sockets(asgi_server, world):
    def login():
        client = Client(HTTP_HOST="acme.localhost")
        client.force_login(world["member"])
        return client

    client = await sync_to_async(login)()
    sock = await Socket.open(asgi_server, "acme.localhost", cookie=client.cookies["sessionid"].value)
    await sock.recv_type("welcome")
    await sync_to_async(client.logout)()
    assert await sock.closed_with(timeout=1) == 4403


async def test_a_ticket_issued_before_its_token_was_revoked_is_refused_4401(asgi_server, world):
    from tests.realtime.client import api

    ticket = await ticket_for(asgi_server, "acme.localhost", world["member_token"])
    async with api(asgi_server, "localhost", world["member_token"]) as platform:
        assert (await platform.delete("/api/auth/token")).status_code == 204
    sock = await Socket.open(asgi_server, "acme.localhost", ticket=ticket)
    assert await sock.closed_with() == 4401


async def test_a_ticket_issued_to_a_session_that_logged_out_is_refused_4401(asgi_server, world):
    def login_and_ticket():
        client = Client(HTTP_HOST="acme.localhost")
        client.force_login(world["member"])
        response = client.post("/api/realtime/ticket")
        assert response.status_code == 200, response.content
        return client, response.json()["ticket"]

    session, ticket = await sync_to_async(login_and_ticket)()
    await sync_to_async(session.logout)()
    sock = await Socket.open(asgi_server, "acme.localhost", ticket=ticket)
    assert await sock.closed_with() == 4401


# --- what an operator does in the admin reaches live connections too ------------------------


@pytest.mark.parametrize("change", ["revoke", "delete"])
async def test_a_token_revoked_or_deleted_in_the_admin_closes_its_sockets(asgi_server, world, change):
    ticket = await ticket_for(asgi_server, "acme.localhost", world["member_token"])
    sock = await Socket.open(asgi_server, "acme.localhost", ticket=ticket)
    await sock.recv_type("welcome")
    action = admin_revoke_token if change == "revoke" else admin_delete_token
    await sync_to_async(action)(world["member_token"])
    assert await sock.closed_with(timeout=2) == 4403


async def test_a_user_deactivated_in_the_admin_loses_their_sockets(asgi_server, world):
    ticket = await ticket_for(asgi_server, "acme.localhost", world["member_token"])
    sock = await Socket.open(asgi_server, "acme.localhost", ticket=ticket)
    await sock.recv_type("welcome")
    await sync_to_async(admin_deactivate)(world["member"])
    assert await sock.closed_with(timeout=2) == 4403


async def test_a_user_deactivated_and_offboarded_in_one_transaction_loses_their_sockets(asgi_server, world):
    """The tenants to close are looked up before the same transaction removes the memberships."""
    from django.db import transaction

    ticket = await ticket_for(asgi_server, "acme.localhost", world["member_token"])
    sock = await Socket.open(asgi_server, "acme.localhost", ticket=ticket)
    await sock.recv_type("welcome")

    def offboard(user):
        with transaction.atomic():
            admin_deactivate(user)
            user.memberships.all().delete()

    await sync_to_async(offboard)(world["member"])
    assert await sock.closed_with(timeout=2) == 4403
