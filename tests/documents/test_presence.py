"""An editor in a document is in the tenant's presence as "in document X" (GET /api/presence and the
`tenant` channel's presence.enter / presence.exit), and leaves it when the socket closes."""

from tests.realtime.client import api, connect_member

from .yclient import YClient

ACME = "acme.localhost"


async def present(server, host, token) -> list[dict]:
    async with api(server, host, token) as client:
        response = await client.get("/api/presence")
        assert response.status_code == 200, response.text
        return response.json()["present"]


async def where_event(sock, name: str, user_id: int) -> dict:
    while True:
        event = await sock.event(name, timeout=5)
        if event["data"]["user"] == user_id:
            return event


async def test_an_editor_is_shown_in_the_document_while_connected_and_leaves_it_when_the_socket_closes(
    asgi_server, live_people
):
    p = live_people
    owner, notes = p["acme"].owner, p["notes"]
    watcher = await connect_member(asgi_server, ACME, p["member_token"])  # the `tenant` channel is joined itself
    first = await YClient.connect(asgi_server, ACME, p["acme"].owner_token, notes.pk)
    second = await YClient.connect(asgi_server, ACME, p["acme"].owner_token, notes.pk)  # a second tab
    where = {"doc": str(notes.pk), "title": "notes"}
    entered = await where_event(watcher, "presence.enter", owner.pk)
    assert (entered["channel"], entered["data"]) == ("tenant", {"user": owner.pk, "where": where})
    assert await present(asgi_server, ACME, p["member_token"]) == [{"user": owner.pk, "where": where}]  # once
    assert await present(asgi_server, "globex.localhost", p["globex"].owner_token) == []  # another tenant's

    private = await YClient.connect(asgi_server, ACME, p["member_token"], p["secret"].pk)
    assert await present(asgi_server, ACME, p["member_token"]) == [{"user": owner.pk, "where": where}]  # not told

    await first.close()
    assert await watcher.nothing_for(0.3, but_presence=False)  # still there through the other tab
    await second.close()
    left = await where_event(watcher, "presence.exit", owner.pk)
    assert left["data"] == {"user": owner.pk, "where": where}
    assert await present(asgi_server, ACME, p["member_token"]) == []
    for client in (private, watcher):
        await client.close()
