"""POST /api/auth/email: the new address is verified before it takes effect."""

from django.conf import settings

from accounts.models import User
from tests.accounts.conftest import token_in
from tests.factories import PASSWORD, token_make, user_make
from tests.helpers import error_code


def test_the_new_address_takes_effect_only_once_its_link_is_followed(committed, qcluster, mailbox, api):
    user = user_make("old@example.test")
    raw = token_make(user)
    wrong = api.post("/api/auth/email", token=raw, json={"email": "new@example.test", "password": "not-it-at-all"})
    assert wrong.status_code == 400 and error_code(wrong) == "wrong_password"

    assert (
        api.post("/api/auth/email", token=raw, json={"email": "New@example.test", "password": PASSWORD}).status_code
        == 202
    )
    message = mailbox.wait_to("new@example.test")
    assert message.subject == f"Confirm your {settings.PLATFORM_NAME} address"
    user.refresh_from_db()
    assert user.email == "old@example.test"  # not yet

    token = token_in(message)
    assert api.post("/api/auth/verify-email", json={"token": token}).status_code == 204
    assert api.get("/api/me", token=raw).json()["user"] == {
        "id": user.pk,
        "email": "new@example.test",
        "email_verified": True,
    }
    notice = mailbox.wait_to("old@example.test")
    assert "now uses new@example.test" in notice.text
    again = api.post("/api/auth/verify-email", json={"token": token})
    assert again.status_code == 400 and error_code(again) == "token_invalid"  # used: it named the old address
    assert api.post("/api/auth/token", json={"email": "new@example.test", "password": PASSWORD}).status_code == 200


def test_an_address_taken_gets_no_email_and_the_answer_is_the_same(committed, qcluster, mailbox, api):
    user = user_make("me@example.test")
    user_make("taken@example.test")
    raw = token_make(user)
    taken = api.post("/api/auth/email", token=raw, json={"email": "taken@example.test", "password": PASSWORD})
    free = api.post("/api/auth/email", token=raw, json={"email": "free@example.test", "password": PASSWORD})
    assert taken.status_code == free.status_code == 202 and taken.json() == free.json()
    mailbox.wait_to("free@example.test")
    assert mailbox.to("taken@example.test") == []


def test_a_change_to_an_address_taken_meanwhile_is_a_conflict(db, api):
    from accounts.link_tokens import email_verification_token_make

    user = user_make("me@example.test")
    token = email_verification_token_make(user, new_email="later@example.test")
    user_make("later@example.test")
    response = api.post("/api/auth/verify-email", json={"token": token})
    assert response.status_code == 409 and error_code(response) == "email_taken"
    assert User.objects.get(pk=user.pk).email == "me@example.test"


def test_a_change_asked_before_the_password_changed_is_void(db, api):
    """Someone who once knew the password asks to move the account to their address; the owner
    then changes (or resets) the password. The pending link must not hand the account over."""
    from accounts.link_tokens import email_verification_token_make

    user = user_make("me@example.test")
    token = email_verification_token_make(user, new_email="attacker@example.test")
    user.set_password("a-brand-new-password")
    user.save()

    response = api.post("/api/auth/verify-email", json={"token": token})

    assert (response.status_code, error_code(response)) == (400, "token_invalid")
    assert User.objects.get(pk=user.pk).email == "me@example.test"
