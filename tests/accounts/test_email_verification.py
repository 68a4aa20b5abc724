"""Signup sends a verification token; an unverified user may sign in but not create tenants
(settings.UNVERIFIED_USERS_MAY); POST /api/auth/verify-email(/resend)."""

import time
from unittest import mock

from django.conf import settings

from accounts.link_tokens import email_verification_token_make
from accounts.models import User
from tests.accounts.conftest import token_in
from tests.factories import PASSWORD, token_make, user_make
from tests.helpers import error_code


def test_a_signup_is_unverified_until_its_emailed_token_is_used(committed, qcluster, mailbox, api):
    assert api.post("/api/auth/signup", json={"email": "new@example.test", "password": PASSWORD}).status_code == 202
    token = token_in(mailbox.wait_to("new@example.test"))
    login = api.post("/api/auth/token", json={"email": "new@example.test", "password": PASSWORD})
    assert login.status_code == 200  # signing in is allowed unverified
    raw = login.json()["token"]
    assert api.get("/api/me", token=raw).json()["user"]["email_verified"] is False

    refused = api.post("/api/tenants", token=raw, json={"name": "Initech", "slug": "initech"})
    assert refused.status_code == 403 and error_code(refused) == "email_unverified"
    assert refused.json()["error"]["details"] == {"action": "create_tenant"}

    assert api.post("/api/auth/verify-email", json={"token": token}).status_code == 204
    assert api.post("/api/auth/verify-email", json={"token": token}).status_code == 204  # idempotent
    assert api.get("/api/me", token=raw).json()["user"]["email_verified"] is True
    assert api.post("/api/tenants", token=raw, json={"name": "Initech", "slug": "initech"}).status_code == 201


def test_resend_mails_a_new_token_to_an_unverified_user_only(committed, qcluster, mailbox, api):
    unverified = user_make("late@example.test", email_verified=False)
    verified = user_make("done@example.test")
    assert api.post("/api/auth/verify-email/resend", token=token_make(unverified)).status_code == 202
    assert api.post("/api/auth/verify-email/resend", token=token_make(verified)).status_code == 202
    message = mailbox.wait_to("late@example.test")
    assert message.subject == f"Confirm your {settings.PLATFORM_NAME} address"
    assert api.post("/api/auth/verify-email", json={"token": token_in(message)}).status_code == 204
    unverified.refresh_from_db()
    assert unverified.email_verified
    assert mailbox.to("done@example.test") == []
    assert api.post("/api/auth/verify-email/resend").status_code == 401


def test_an_expired_forged_or_stale_token_is_refused_with_its_own_code(db, api):
    user = user_make("me@example.test", email_verified=False)
    with mock.patch(
        "django.core.signing.time.time", return_value=time.time() - settings.EMAIL_VERIFICATION_TIMEOUT - 60
    ):
        expired = email_verification_token_make(user)
    response = api.post("/api/auth/verify-email", json={"token": expired})
    assert response.status_code == 400 and error_code(response) == "token_expired"

    stale = email_verification_token_make(user)
    User.objects.filter(pk=user.pk).update(email="renamed@example.test")  # the token named the old address
    for token in [stale, stale[:-2] + "xx", "garbage"]:
        response = api.post("/api/auth/verify-email", json={"token": token})
        assert response.status_code == 400 and error_code(response) == "token_invalid", token
    user.refresh_from_db()
    assert not user.email_verified


def test_users_made_by_operators_and_factories_are_verified(db):
    assert user_make().email_verified
    assert User.objects.create_user(email="ops@example.test", password=PASSWORD).email_verified


def test_the_setting_can_refuse_sign_in_to_unverified_users(db, api, settings):
    user_make("late@example.test", email_verified=False)
    settings.UNVERIFIED_USERS_MAY = {"accept_invitations"}
    response = api.post("/api/auth/token", json={"email": "late@example.test", "password": PASSWORD})
    assert response.status_code == 403 and error_code(response) == "email_unverified"
