"""POST /api/auth/password-reset(/confirm): no enumeration, single-use expiring tokens, and
every credential of the user revoked — live sockets included (a real qcluster, SMTP server and ASGI server)."""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.link_tokens import password_reset_token_make, reset_tokens
from jobs.models import Job
from tests.accounts.conftest import token_in
from tests.factories import PASSWORD, member_make, token_make, user_make
from tests.helpers import error_code
from tests.realtime.client import Socket, ticket_for

NEW_PASSWORD = "a-brand-new-passphrase-42"


def test_the_answer_is_the_same_for_an_unknown_address_and_only_an_account_gets_an_email(
    committed, qcluster, mailbox, api
):
    user_make("known@example.test")
    answers = [
        api.post("/api/auth/password-reset", json={"email": email})
        for email in ["Known@example.test", "nobody@example.test"]
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()

    message = mailbox.wait_to("known@example.test")
    assert message.subject == f"Reset your {settings.PLATFORM_NAME} password"
    assert "/api/auth/password-reset/confirm" in message.text and token_in(message)
    assert mailbox.to("nobody@example.test") == []
    assert not [j for j in Job.objects.filter(task="email.platform_send") if "nobody@" in str(j.payload)]


def test_a_reset_sets_the_password_once_and_revokes_every_token_and_session(committed, qcluster, mailbox, api):
    user = user_make("me@example.test")
    old_tokens = [token_make(user), token_make(user)]
    browser = Client(HTTP_HOST="localhost")
    browser.force_login(user)
    assert api.post("/api/auth/password-reset", json={"email": "me@example.test"}).status_code == 202
    token = token_in(mailbox.wait_to("me@example.test"))

    weak = api.post("/api/auth/password-reset/confirm", json={"token": token, "password": "123"})
    assert (
        weak.status_code == 400
        and error_code(weak) == "validation_error"
        and weak.json()["error"]["details"]["password"]
    )

    assert (
        api.post("/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}).status_code == 204
    )
    again = api.post("/api/auth/password-reset/confirm", json={"token": token, "password": "another-passphrase-99"})
    assert again.status_code == 400 and error_code(again) == "token_invalid"

    for raw in old_tokens:
        assert error_code(api.get("/api/me", token=raw)) == "token_revoked"
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)]
    assert browser.get("/api/me").status_code in (401, 403)
    assert api.post("/api/auth/token", json={"email": "me@example.test", "password": PASSWORD}).status_code == 401
    login = api.post("/api/auth/token", json={"email": "me@example.test", "password": NEW_PASSWORD})
    assert login.status_code == 200
    notice = mailbox.wait(lambda m: "was changed" in m.subject)[0]
    assert "me@example.test" in notice.rcpt_tos and "every device was signed out" in notice.text


def test_an_expired_or_forged_token_is_refused_with_its_own_code(db, api):
    user = user_make("me@example.test")
    uid = password_reset_token_make(user).partition(".")[0]
    then = reset_tokens._num_seconds(reset_tokens._now()) - settings.PASSWORD_RESET_TIMEOUT - 60
    expired = f"{uid}.{reset_tokens._make_token_with_timestamp(user, then, reset_tokens.secret)}"
    response = api.post("/api/auth/password-reset/confirm", json={"token": expired, "password": NEW_PASSWORD})
    assert response.status_code == 400 and error_code(response) == "token_expired"

    other = user_make("other@example.test")
    forged = f"{uid}.{password_reset_token_make(other).partition('.')[2]}"  # another user's token under this uid
    for token in [forged, "garbage", password_reset_token_make(user) + "x"]:
        response = api.post("/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
        assert response.status_code == 400 and error_code(response) == "token_invalid", token
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_reset_requests_are_rate_limited_per_address_known_or_not(db, api):
    user_make("known@example.test")
    limit = settings.AUTH_LIMITS["EMAILS_PER_ADDRESS"]
    for email in ["known@example.test", "nobody@example.test"]:
        codes = [api.post("/api/auth/password-reset", json={"email": email}).status_code for _ in range(limit + 1)]
        assert codes == [202] * limit + [429]
    assert error_code(api.post("/api/auth/password-reset", json={"email": "nobody@example.test"})) == "rate_limited"


async def test_a_reset_closes_the_users_live_sockets(asgi_server, committed, acme):
    member = await sync_to_async(member_make)(acme, email="member@acme.test")
    raw = await sync_to_async(token_make)(member)
    sock = await Socket.open(asgi_server, "acme.localhost", ticket=await ticket_for(asgi_server, "acme.localhost", raw))
    await sock.recv_type("welcome")
    token = await sync_to_async(password_reset_token_make)(member)
    from tests.realtime.client import api as live_api

    async with live_api(asgi_server, "localhost") as platform:
        response = await platform.post(
            "/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
        )
        assert response.status_code == 204
    assert await sock.closed_with(timeout=3) == 4403


def test_no_reset_is_asked_for_an_address_that_cannot_receive_mail(db, api):
    """API keys' service accounts live at `.invalid` (RFC 2606): a reset would give one a password."""
    from common.domain_events import captured

    user_make("key-1@service.invalid")
    with captured() as events:
        response = api.post("/api/auth/password-reset", json={"email": "key-1@service.invalid"})

    assert response.status_code == 202
    assert [event.name for event in events] == []
