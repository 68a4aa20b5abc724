"""Limits, restarts and two server processes, on servers of their own (one process each, tight limits)."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django_tenants.utils import tenant_context
from pycrdt import create_update_message

from documents.models import Document, DocumentUpdate
from tests.live import LiveServer

from .yclient import YClient

ACME = "acme.localhost"
TIGHT = {
    "WEB_CONCURRENCY": "1",
    "DOCUMENTS_MAX_UPDATE_BYTES": "4096",
    "DOCUMENTS_UPDATES_PER_SECOND": "5",
    "DOCUMENTS_MAX_CONNECTIONS_PER_DOCUMENT": "3",
    "DOCUMENTS_MAX_DOCUMENT_BYTES": "3000",
    "DOCUMENTS_RECONCILE_SECONDS": "1",
}


@pytest.fixture(scope="module")
def servers(django_db_setup):
    """Two servers, one process each: the two-process test, and the others on the first."""
    pair = [LiveServer(TIGHT).start(), LiveServer(TIGHT).start()]
    yield pair
    for server in pair:
        server.stop()


def stored(tenant, document) -> tuple[int, int]:
    with tenant_context(tenant):
        row = Document.objects.get(pk=document.pk)
        return row.last_seq, DocumentUpdate.objects.filter(document=document).count()


async def test_clients_on_two_processes_converge_through_redis(servers, live_people):
    p = live_people
    one, two = servers
    a = await YClient.connect(one, ACME, p["member_token"], p["notes"].pk)
    b = await YClient.connect(two, ACME, p["acme"].owner_token, p["notes"].pk)
    a.text.insert(0, "from one")
    assert await b.wait_text("from one") == "from one"
    b.text.insert(0, "two and ")
    a.text.insert(len(str(a.text)), "!")
    assert await a.wait_text("two and from one!") == await b.wait_text("two and from one!") == "two and from one!"
    for client in (a, b):
        await client.close()


async def test_updates_survive_a_restart_and_a_client_with_offline_edits_converges(servers, live_people):
    p = live_people
    server = servers[0]
    a = await YClient.connect(server, ACME, p["member_token"], p["notes"].pk)
    a.text.insert(0, "durable")
    await a.flush()
    await asyncio.sleep(0.3)
    server.stop()  # every process of it
    assert await sync_to_async(stored)(p["acme"], p["notes"]) == (1, 1)
    a.text.insert(7, " and offline")  # an edit made while the server was away
    server.start()
    again = await YClient.connect(server, ACME, p["member_token"], p["notes"].pk, doc=a.doc)  # same replica
    fresh = await YClient.connect(server, ACME, p["acme"].owner_token, p["notes"].pk)
    assert await fresh.wait_text("durable and offline") == "durable and offline"
    assert str(again.text) == "durable and offline"
    for client in (again, fresh):
        await client.close()


async def test_an_update_over_the_update_limit_closes_4413_and_one_over_the_document_limit_too(servers, live_people):
    p = live_people
    a = await YClient.connect(servers[0], ACME, p["member_token"], p["notes"].pk)
    await a.send_raw(create_update_message(b"\x00" * 5000))
    assert await a.closed_with() == (4413, "update_too_large")
    b = await YClient.connect(servers[0], ACME, p["member_token"], p["notes"].pk)
    b.text.insert(0, "x" * 2000)
    await b.flush()
    await asyncio.sleep(0.2)
    b.text.insert(0, "y" * 2000)  # 4 KB over a 3,000-byte document
    assert await b.closed_with() == (4413, "document_too_large")
    assert (await sync_to_async(stored)(p["acme"], p["notes"]))[0] == 1


async def test_too_many_updates_a_second_close_4429_and_a_full_document_refuses_a_connection(servers, live_people):
    p = live_people
    a = await YClient.connect(servers[0], ACME, p["member_token"], p["notes"].pk)
    for i in range(15):  # bursts to 10
        a.text.insert(0, str(i))
    assert await a.closed_with() == (4429, "rate_limited")
    clients = [await YClient.connect(servers[0], ACME, p["member_token"], p["notes"].pk) for _ in range(3)]
    refused = await YClient.connect(servers[0], ACME, p["member_token"], p["notes"].pk, sync=False)
    assert await refused.closed_with() == (4429, "too_many_connections")
    for client in clients:
        await client.close()


async def test_an_update_a_process_never_heard_of_on_redis_reaches_its_clients_from_the_database(servers, live_people):
    """As if Redis pub/sub lost the message: the update is only in the log. The room's reconcile
    (every second here) finds last_seq ahead of what it applied and catches up."""
    from pycrdt import Doc, Text

    from documents.compaction import document_compact
    from documents.services import update_append

    p = live_people
    opener = await YClient.connect(servers[1], ACME, p["acme"].owner_token, p["notes"].pk)
    a = await YClient.connect(servers[1], ACME, p["member_token"], p["notes"].pk)
    await opener.close()  # the room outlives the connection that opened it
    elsewhere = Doc()
    elsewhere.get("content", type=Text).insert(0, "lost on the wire")

    def append():
        with tenant_context(p["acme"]):
            return update_append(
                tenant=p["acme"], document_id=p["notes"].pk, data=elsewhere.get_update(), author_id=None
            )

    assert await sync_to_async(append)() == 1
    assert await a.wait_text("lost on the wire", timeout=4) == "lost on the wire"

    def append_twice_and_compact():  # what the room lacks now exists only in a snapshot
        with tenant_context(p["acme"]):
            for word in (" and", " compacted"):
                state = elsewhere.get_state()
                text = elsewhere.get("content", type=Text)
                text.insert(len(text), word)
                update_append(
                    tenant=p["acme"], document_id=p["notes"].pk, data=elsewhere.get_update(state), author_id=None
                )
            return document_compact(document_id=p["notes"].pk)["up_to_seq"]

    assert await sync_to_async(append_twice_and_compact)() == 3
    expected = "lost on the wire and compacted"
    assert await a.wait_text(expected, timeout=4) == expected
    await a.close()
