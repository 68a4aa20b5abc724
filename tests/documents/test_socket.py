"""/ws/docs/<id> over the real server: the y-websocket protocol, durability, refusals, limits."""

import asyncio

from asgiref.sync import sync_to_async
from django_tenants.utils import tenant_context
from pycrdt import Doc, create_update_message

from documents.models import Document, DocumentUpdate
from tenants.audit import SYSTEM
from tenants.services import tenant_suspend
from tests.realtime.client import api, ticket_for
from tests.realtime.test_access_flags import realtime_switch

from .yclient import YClient

ACME = "acme.localhost"


def log_of(tenant, document) -> list[int]:
    with tenant_context(tenant):
        return list(DocumentUpdate.objects.filter(document=document).values_list("seq", flat=True))


async def test_two_clients_edit_one_document_and_converge_and_every_update_is_stored(asgi_server, live_people):
    p = live_people
    a = await YClient.connect(asgi_server, ACME, p["member_token"], p["notes"].pk)
    b = await YClient.connect(asgi_server, ACME, p["acme"].owner_token, p["notes"].pk)
    a.text.insert(0, "hello")
    assert await b.wait_text("hello") == "hello"
    b.text.insert(5, " world")
    a.text.insert(0, ">")
    assert await a.wait_text(">hello world") == await b.wait_text(">hello world") == ">hello world"
    await a.close()
    await b.close()
    assert await sync_to_async(log_of)(p["acme"], p["notes"]) == [1, 2, 3]
    async with api(asgi_server, ACME, p["member_token"]) as client:
        content = (await client.get(f"/api/docs/{p['notes'].pk}/content")).json()
    assert (content["text"], content["seq"]) == (">hello world", 3)
    late = await YClient.connect(asgi_server, ACME, p["member_token"], p["notes"].pk)  # from the log
    assert str(late.text) == ">hello world"
    await late.close()


async def test_awareness_reaches_the_others_and_a_newcomer_and_is_removed_when_its_client_leaves(
    asgi_server, live_people
):
    p = live_people
    a = await YClient.connect(asgi_server, ACME, p["member_token"], p["notes"].pk)
    b = await YClient.connect(asgi_server, ACME, p["acme"].owner_token, p["notes"].pk)
    await a.awareness(4242, 1, '{"user":{"name":"member"}}')
    await asyncio.sleep(0.3)
    assert any(b'"member"' in update for update in b.awareness_received())
    c = await YClient.connect(asgi_server, ACME, p["acme"].owner_token, p["notes"].pk)
    await asyncio.sleep(0.3)
    assert any(b'"member"' in update for update in c.awareness_received())  # the states of those already in
    await a.close()
    await asyncio.sleep(0.3)
    assert any(update.endswith(b"null") for update in b.awareness_received())  # 4242 left
    await b.close()
    await c.close()


async def test_a_malformed_update_closes_that_connection_4400_and_leaves_the_document_as_it_was(
    asgi_server, live_people
):
    p = live_people
    a = await YClient.connect(asgi_server, ACME, p["member_token"], p["notes"].pk)
    watcher = await YClient.connect(asgi_server, ACME, p["acme"].owner_token, p["notes"].pk)
    a.text.insert(0, "kept")
    assert await watcher.wait_text("kept") == "kept"
    await a.send_raw(create_update_message(b"\x05\x01garbage"))
    assert await a.closed_with() == (4400, "update_malformed")
    assert await sync_to_async(log_of)(p["acme"], p["notes"]) == [1]
    watcher.text.insert(4, "!")  # the document is still alive for the others
    again = await YClient.connect(asgi_server, ACME, p["member_token"], p["notes"].pk)
    assert await again.wait_text("kept!") == "kept!"
    for client in (watcher, again):
        await client.close()


async def test_a_viewer_is_refused_its_updates_and_the_document_is_untouched(asgi_server, live_people):
    p = live_people
    editor = await YClient.connect(asgi_server, ACME, p["member_token"], p["secret"].pk)
    editor.text.insert(0, "plan")
    viewer = await YClient.connect(asgi_server, ACME, p["other_token"], p["secret"].pk)
    assert await viewer.wait_text("plan") == "plan"  # it reads
    viewer.text.insert(0, "NOT ")
    await viewer.flush()
    await asyncio.sleep(0.3)
    assert any(m[0] == 2 and m.endswith(b"read-only") for m in viewer.received)  # y-protocols auth: denied
    assert await editor.wait_text("NOT plan", timeout=0.5) == "plan"
    assert await sync_to_async(log_of)(p["acme"], p["secret"]) == [1]
    for client in (editor, viewer):
        await client.close()


async def test_outsiders_are_refused_the_socket(asgi_server, live_people):
    p = live_people
    from tests.factories import member_make, token_make

    outsider = await sync_to_async(lambda: token_make(member_make(p["acme"], email="out@acme.test")))()
    refused = await YClient.connect(asgi_server, ACME, outsider, p["secret"].pk, sync=False)  # private, not in it
    assert await refused.closed_with() == (4404, "document_not_found")
    # tenant B: on its own host acme's document does not exist; on acme's host it is not a member
    other = await YClient.connect(asgi_server, "globex.localhost", p["globex"].owner_token, p["notes"].pk, sync=False)
    assert await other.closed_with() == (4404, "document_not_found")
    async with api(asgi_server, ACME, p["globex"].owner_token) as client:
        assert (await client.post("/api/realtime/ticket")).status_code == 403  # no ticket for acme's host
    foreign = await YClient.connect(
        asgi_server, ACME, p["member_token"], p["notes"].pk, sync=False, origin="https://evil.example"
    )
    assert await foreign.closed_with() == (4403, "origin_not_allowed")


async def test_a_revoked_token_a_suspended_tenant_and_realtime_switched_off_are_refused(asgi_server, live_people):
    p = live_people
    ticket = await ticket_for(asgi_server, ACME, p["member_token"])
    async with api(asgi_server, "localhost", p["member_token"]) as platform:
        assert (await platform.delete("/api/auth/token")).status_code == 204
    import websockets

    ws = await websockets.connect(
        f"ws://{ACME}:{asgi_server.port}/ws/docs/{p['notes'].pk}?ticket={ticket}",
        host="127.0.0.1",
        port=asgi_server.port,
    )
    refused = YClient(ws, Doc())
    assert await refused.closed_with() == (4401, "not_authenticated")

    open_one = await YClient.connect(asgi_server, ACME, p["acme"].owner_token, p["notes"].pk)
    await realtime_switch(asgi_server, p["acme"], False)
    assert await open_one.closed_with(timeout=2) == (4403, "feature_disabled")  # what is open closes
    ticket = await ticket_for_anyway(asgi_server, p)
    assert ticket is None  # and no new ticket
    await realtime_switch(asgi_server, p["acme"], True)

    open_one = await YClient.connect(asgi_server, ACME, p["acme"].owner_token, p["notes"].pk)
    await sync_to_async(tenant_suspend)(tenant=p["acme"], actor=SYSTEM)
    assert await open_one.closed_with(timeout=2) == (4403, "tenant_suspended")


async def ticket_for_anyway(server, p):
    async with api(server, ACME, p["acme"].owner_token) as client:
        response = await client.post("/api/realtime/ticket")
    return response.json()["ticket"] if response.status_code == 200 else None


async def test_deleting_the_document_closes_its_sockets_4404(asgi_server, live_people):
    p = live_people
    a = await YClient.connect(asgi_server, ACME, p["member_token"], p["notes"].pk)
    async with api(asgi_server, ACME, p["acme"].owner_token) as client:
        assert (await client.delete(f"/api/docs/{p['notes'].pk}")).status_code == 204
    assert await a.closed_with() == (4404, "document_deleted")
    with_no_doc = await sync_to_async(lambda: tenant_context_exists(p))()
    assert not with_no_doc


def tenant_context_exists(p) -> bool:
    with tenant_context(p["acme"]):
        return Document.objects.filter(pk=p["notes"].pk).exists()
