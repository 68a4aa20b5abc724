"""The WebSocket route resolves the tenant like HTTP does, on a real server."""
import json

import pytest
import websockets
from django.test import Client

from tests.factories import user_make


def session_cookie(user, host: str) -> str:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client.cookies["sessionid"].value


async def connect(asgi_server, host: str, cookie: str | None = None):
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    return await websockets.connect(f"ws://{host}:{asgi_server.port}/ws/", host="127.0.0.1",
                                    port=asgi_server.port, additional_headers=headers, open_timeout=10)


async def close_code(ws) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await ws.recv()
    return closed.value.rcvd.code


@pytest.fixture
def sessions(committed, acme, globex):
    from asgiref.sync import async_to_sync  # noqa: F401  (fixtures stay sync: the ORM is sync)

    return {
        "acme_owner": session_cookie(acme.owner, "acme.localhost"),
        "globex_owner": session_cookie(globex.owner, "globex.localhost"),
        "stranger": session_cookie(user_make(), "localhost"),
    }


async def test_a_member_socket_runs_in_its_tenants_schema(asgi_server, sessions):
    ws = await connect(asgi_server, "acme.localhost", sessions["acme_owner"])
    await ws.send(json.dumps({"type": "whoami"}))
    reply = json.loads(await ws.recv())
    assert reply["tenant"] == "acme" and reply["schema"] == "t_acme" and reply["role"] == "owner"
    await ws.send(json.dumps({"type": "ping"}))
    assert json.loads(await ws.recv()) == {"type": "pong"}
    await ws.close()


async def test_globex_owner_cannot_open_a_socket_on_acme(asgi_server, sessions):
    ws = await connect(asgi_server, "acme.localhost", sessions["globex_owner"])
    assert await close_code(ws) == 4403


async def test_a_socket_without_a_session_is_closed_4401(asgi_server, sessions):
    ws = await connect(asgi_server, "acme.localhost")
    assert await close_code(ws) == 4401


async def test_a_socket_on_a_host_with_no_tenant_is_closed_4404(asgi_server, sessions):
    ws = await connect(asgi_server, "nobody.localhost", sessions["acme_owner"])
    assert await close_code(ws) == 4404


async def test_a_socket_naming_another_tenant_by_header_is_closed_4400(asgi_server, sessions):
    ws = await websockets.connect(f"ws://acme.localhost:{asgi_server.port}/ws/", host="127.0.0.1",
                                  port=asgi_server.port,
                                  additional_headers={"Cookie": f"sessionid={sessions['acme_owner']}",
                                                      "X-Tenant-ID": "globex"})
    assert await close_code(ws) == 4400
