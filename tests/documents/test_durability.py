"""What survives a crash: a server killed with SIGKILL in the middle of editing loses no update any
client saw broadcast, and clients that reconnect converge with no manual step (docs/documents.md)."""

import asyncio
import re

import pytest
import websockets
from asgiref.sync import sync_to_async
from django_tenants.utils import tenant_context
from pycrdt import Doc, YMessageType, YSyncMessageType, create_sync_message, read_message

from documents.models import DocumentUpdate
from tests.live import LiveServer
from tests.realtime.client import api, ticket_for

from .yclient import YClient

ACME = "acme.localhost"
BURST = 150  # updates per client, one token each
FAST = {
    "WEB_CONCURRENCY": "1",
    "DOCUMENTS_UPDATES_PER_SECOND": "2000",
    "REALTIME_PRESENCE_TTL_SECONDS": "2",
    "REALTIME_HEARTBEAT_SECONDS": "1",
}


@pytest.fixture(scope="module")
def server(django_db_setup):
    server = LiveServer(FAST).start()
    yield server
    server.stop()


def tokens(text: str, who: str) -> set[int]:
    return {int(n) for n in re.findall(rf"<{who}(\d+)>", text)}


async def burst(client: YClient, who: str) -> None:
    """BURST appends, a few milliseconds apart; they go on into the replica after the server dies."""
    for i in range(BURST):
        client.text.insert(len(client.text), f"<{who}{i}>")
        await asyncio.sleep(0.003)


async def content(server, token, document_id) -> str:
    async with api(server, ACME, token) as client:
        response = await client.get(f"/api/docs/{document_id}/content")
        assert response.status_code == 200, response.text
        return response.json()["text"]


async def present(server, token, timeout: float = 0) -> list[dict]:
    """The tenant's presence (after `timeout`, as soon as it is empty)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with api(server, ACME, token) as client:
        while True:
            found = (await client.get("/api/presence")).json()["present"]
            if not found or loop.time() >= deadline:
                return found
            await asyncio.sleep(0.2)


async def converged(a: YClient, b: YClient, timeout: float = 10) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        text = str(a.text)
        if text == str(b.text) and tokens(text, "a") == tokens(text, "b") == set(range(BURST)):
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"no convergence: {len(str(a.text))} vs {len(str(b.text))} chars")


def dead(client: YClient) -> None:
    for task in client.tasks:
        task.cancel()


async def test_sigkill_mid_edit_loses_nothing_a_client_saw_and_reconnecting_clients_converge(server, live_people):
    p = live_people
    doc_id = p["notes"].pk
    a = await YClient.connect(server, ACME, p["member_token"], doc_id)
    b = await YClient.connect(server, ACME, p["acme"].owner_token, doc_id)
    writers = [asyncio.create_task(burst(a, "a")), asyncio.create_task(burst(b, "b"))]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not (len(tokens(str(b.text), "a")) >= 20 and len(tokens(str(a.text), "b")) >= 20):
        assert loop.time() < deadline, "the burst never reached the other client"
        await asyncio.sleep(0.005)
    in_doc = [
        {"user": user.pk, "where": {"doc": str(doc_id), "title": "notes"}} for user in (p["acme"].owner, p["member"])
    ]
    assert sorted(await present(server, p["member_token"]), key=lambda e: e["user"]) == sorted(
        in_doc, key=lambda e: e["user"]
    )
    server.kill()  # SIGKILL, every process of the server, mid-burst
    assert not any(w.done() for w in writers), "the kill came after the burst"
    for client in (a, b):
        await asyncio.wait_for(asyncio.shield(client.tasks[0]), 5)  # read all the server sent before dying
    saw_of_a, saw_of_b = tokens(str(b.text), "a"), tokens(str(a.text), "b")  # what was broadcast to them
    for client in (a, b):
        dead(client)
    # the rest of the burst (edits made while the server is down) while it starts again
    await asyncio.gather(*writers, asyncio.to_thread(server.start))
    stored = await content(server, p["member_token"], doc_id)
    assert saw_of_a <= tokens(stored, "a"), sorted(saw_of_a - tokens(stored, "a"))
    assert saw_of_b <= tokens(stored, "b"), sorted(saw_of_b - tokens(stored, "b"))
    assert len(tokens(stored, "a")) < BURST  # the kill did cut the burst short
    assert await present(server, p["member_token"], timeout=5) == []  # the dead process's entries expired

    again_a = await YClient.connect(server, ACME, p["member_token"], doc_id, doc=a.doc)  # new tickets, same replicas
    again_b = await YClient.connect(server, ACME, p["acme"].owner_token, doc_id, doc=b.doc)
    text = await converged(again_a, again_b)
    assert len(await present(server, p["member_token"])) == 2  # in the document again
    await asyncio.sleep(0.2)
    assert await content(server, p["member_token"], doc_id) == text
    for client in (again_a, again_b):
        await client.close()


def log_data(tenant, document) -> list[bytes]:
    with tenant_context(tenant):
        rows = DocumentUpdate.objects.filter(document=document).order_by("seq").values_list("data", flat=True)
        return [bytes(data) for data in rows]


async def test_an_update_is_committed_before_anyone_receives_it_and_one_sockets_updates_keep_their_order(
    server, live_people
):
    """The watcher looks each update it receives up in the log at once: it is there already. The
    log holds the writer's updates in the order it sent them (one socket's messages are handled one
    after the other: Channels awaits each before reading the next)."""
    p = live_people
    ticket = await ticket_for(server, ACME, p["acme"].owner_token)
    watcher = await websockets.connect(
        f"ws://{ACME}:{server.port}/ws/docs/{p['notes'].pk}?ticket={ticket}", host="127.0.0.1", port=server.port
    )
    await watcher.send(create_sync_message(Doc()))
    writer = await YClient.connect(server, ACME, p["member_token"], p["notes"].pk)
    sent: list[bytes] = []
    writer.doc.observe(lambda event: sent.append(event.update))
    count, missing, seen = 60, [], 0
    for i in range(count):
        writer.text.insert(len(writer.text), f"<{i}>")
    while seen < count:
        message = await asyncio.wait_for(watcher.recv(), 5)
        if message[:2] == bytes([YMessageType.SYNC, YSyncMessageType.SYNC_UPDATE]):
            seen += 1
            update = read_message(message[2:])
            if update not in await sync_to_async(log_data)(p["acme"], p["notes"]):
                missing.append(update)
    assert missing == []  # none was sent on before its INSERT committed
    assert await sync_to_async(log_data)(p["acme"], p["notes"]) == sent
    await watcher.close()
    await writer.close()
