"""Who may open a socket on a tenant host, on a real uvicorn."""

from common.redis_client import redis_client, tenant_key
from tests.realtime.client import Socket, connect_member, ticket_for
from tests.realtime.conftest import session_cookie


async def test_a_ticket_opens_a_socket_with_a_welcome(asgi_server, world):
    acme = world["acme"]
    sock = await connect_member(asgi_server, "acme.localhost", acme.owner_token, live=False)
    assert sock.welcome["user"] == acme.owner.pk and sock.welcome["tenant"] == "acme"
    assert sorted(sock.welcome["channels"]) == sorted([f"user:{acme.owner.pk}", "tenant"])
    await sock.close()


async def test_a_ticket_works_once(asgi_server, world):
    ticket = await ticket_for(asgi_server, "acme.localhost", world["acme"].owner_token)
    first = await Socket.open(asgi_server, "acme.localhost", ticket=ticket)
    await first.recv_type("welcome")
    second = await Socket.open(asgi_server, "acme.localhost", ticket=ticket)
    assert await second.closed_with() == 4401
    await first.close()


async def test_an_expired_ticket_is_refused(asgi_server, world):
    ticket = await ticket_for(asgi_server, "acme.localhost", world["acme"].owner_token)
    redis_client().delete(tenant_key(world["acme"].pk, "ws_ticket", ticket))  # what expiry does
    sock = await Socket.open(asgi_server, "acme.localhost", ticket=ticket)
    assert await sock.closed_with() == 4401


async def test_a_socket_without_credentials_is_closed_4401(asgi_server, world):
    sock = await Socket.open(asgi_server, "acme.localhost")
    assert await sock.closed_with() == 4401


async def test_a_session_cookie_opens_a_socket(asgi_server, world):
    cookie = await _cookie(world["acme"].owner, "acme.localhost")
    sock = await Socket.open(asgi_server, "acme.localhost", cookie=cookie)
    assert (await sock.recv_type("welcome"))["tenant"] == "acme"
    await sock.close()


async def test_a_globex_ticket_does_not_open_acme(asgi_server, world):
    ticket = await ticket_for(asgi_server, "globex.localhost", world["globex"].owner_token)
    sock = await Socket.open(asgi_server, "acme.localhost", ticket=ticket)
    assert await sock.closed_with() == 4401


async def test_a_globex_owners_session_cannot_open_acme(asgi_server, world):
    cookie = await _cookie(world["globex"].owner, "acme.localhost")
    sock = await Socket.open(asgi_server, "acme.localhost", cookie=cookie)
    assert await sock.closed_with() == 4403


async def test_a_foreign_origin_is_refused_and_a_listed_one_admitted(asgi_server, world):
    acme = world["acme"]
    ticket = await ticket_for(asgi_server, "acme.localhost", acme.owner_token)
    sock = await Socket.open(asgi_server, "acme.localhost", ticket=ticket, origin="https://evil.example")
    assert await sock.closed_with() == 4403

    acme.settings = {"frontend_origins": ["https://app.acme.com"]}
    await _save(acme)
    ticket = await ticket_for(asgi_server, "acme.localhost", acme.owner_token)
    sock = await Socket.open(asgi_server, "acme.localhost", ticket=ticket, origin="https://app.acme.com")
    assert (await sock.recv_type("welcome"))["tenant"] == "acme"
    await sock.close()


async def test_a_host_with_no_tenant_is_closed_4404(asgi_server, world):
    sock = await Socket.open(asgi_server, "nobody.localhost")
    assert await sock.closed_with() == 4404


async def test_too_many_connections_per_user_are_refused(asgi_server, world, settings):
    token = world["member_token"]
    open_ones = [await connect_member(asgi_server, "acme.localhost", token, live=False) for _ in range(10)]
    extra = await Socket.open(
        asgi_server, "acme.localhost", ticket=await ticket_for(asgi_server, "acme.localhost", token)
    )
    assert await extra.closed_with() == 4429
    for sock in open_ones:
        await sock.close()


async def _cookie(user, host):
    from asgiref.sync import sync_to_async

    return await sync_to_async(session_cookie)(user, host)


async def _save(tenant):
    from asgiref.sync import sync_to_async

    await sync_to_async(tenant.save)()
