"""POST /api/auth/password: the signed-in user changes it; their other credentials are revoked, the one in use stays."""

from asgiref.sync import sync_to_async

from tests.factories import PASSWORD, member_make, token_make, user_make
from tests.helpers import error_code
from tests.realtime.client import Socket, ticket_for
from tests.realtime.client import api as live_api

NEW_PASSWORD = "a-brand-new-passphrase-42"


def test_changing_the_password_keeps_the_token_in_use_and_revokes_the_others(db, api):
    user = user_make("me@example.test")
    in_use, other = token_make(user), token_make(user)

    wrong = api.post("/api/auth/password", token=in_use, json={"current": "not-it-at-all", "new": NEW_PASSWORD})
    assert wrong.status_code == 400 and error_code(wrong) == "wrong_password"
    weak = api.post("/api/auth/password", token=in_use, json={"current": PASSWORD, "new": "me@example.test"})
    assert weak.status_code == 400 and error_code(weak) == "validation_error" and weak.json()["error"]["details"]["new"]
    assert api.get("/api/me", token=other).status_code == 200  # nothing happened yet

    assert (
        api.post("/api/auth/password", token=in_use, json={"current": PASSWORD, "new": NEW_PASSWORD}).status_code == 204
    )
    assert api.get("/api/me", token=in_use).status_code == 200
    assert error_code(api.get("/api/me", token=other)) == "token_revoked"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_signed_out_or_a_revoked_token_cannot_change_it(db, api):
    user = user_make()
    raw = token_make(user)
    assert api.delete("/api/auth/token", token=raw).status_code == 204
    assert api.post("/api/auth/password", json={"current": PASSWORD, "new": NEW_PASSWORD}).status_code == 401
    response = api.post("/api/auth/password", token=raw, json={"current": PASSWORD, "new": NEW_PASSWORD})
    assert response.status_code == 401 and error_code(response) == "token_revoked"


async def test_the_other_tokens_sockets_close_and_the_one_in_use_stays(asgi_server, committed, acme):
    member = await sync_to_async(member_make)(acme, email="member@acme.test")
    in_use, other = await sync_to_async(token_make)(member), await sync_to_async(token_make)(member)
    socks = {}
    for name, raw in [("in_use", in_use), ("other", other)]:
        socks[name] = await Socket.open(
            asgi_server, "acme.localhost", ticket=await ticket_for(asgi_server, "acme.localhost", raw)
        )
        await socks[name].recv_type("welcome")
    async with live_api(asgi_server, "localhost", in_use) as platform:
        response = await platform.post("/api/auth/password", json={"current": PASSWORD, "new": NEW_PASSWORD})
        assert response.status_code == 204
    assert await socks["other"].closed_with(timeout=3) == 4403
    await socks["in_use"].send(type="ping")
    assert (await socks["in_use"].recv_type("pong"))["type"] == "pong"
    await socks["in_use"].close()
