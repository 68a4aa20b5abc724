"""Signup input, tokens (issue, use, revoke, expire) and session login (signup itself: test_signup.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuthToken, User
from accounts.tokens import token_digest
from tests.factories import PASSWORD, token_make, user_make
from tests.helpers import error_code

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"email": "a@example.com", "password": "123"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
        ({"email": ["a@example.com"], "password": PASSWORD}, "email"),
    ],
)
def test_signup_with_invalid_fields_names_the_field(api, payload, field):
    response = api.post("/api/auth/signup", json=payload)
    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert field in response.json()["error"]["details"]
    assert User.objects.count() == 0


def test_malformed_json_is_a_clear_400(api):
    response = api.post("/api/auth/signup", raw='{"email": "a@example.com",')
    assert response.status_code == 400
    assert error_code(response) == "malformed_request"


def test_token_is_issued_for_right_credentials_and_stored_only_as_a_hash(api):
    user = user_make("me@example.com")
    response = api.post("/api/auth/token", json={"email": "me@example.com", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    stored = AuthToken.objects.get(user=user)
    assert stored.digest == token_digest(body["token"])
    assert body["token"] not in (stored.digest, stored.prefix)
    assert stored.expires_at > timezone.now() + timedelta(days=6)


def test_token_with_a_wrong_password_is_refused(api):
    user_make("me@example.com")
    response = api.post("/api/auth/token", json={"email": "me@example.com", "password": "wrong-password"})
    assert response.status_code == 401
    assert error_code(response) == "invalid_credentials"
    assert AuthToken.objects.count() == 0


def test_a_token_authenticates_requests(api):
    user = user_make("me@example.com")
    response = api.get("/api/me", token=token_make(user))
    assert response.status_code == 200
    assert response.json()["user"] == {"id": user.pk, "email": "me@example.com", "email_verified": True}


def test_no_credentials_is_401_not_authenticated(api):
    response = api.get("/api/me")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_revoking_a_token_makes_it_unusable(api):
    user = user_make()
    token = token_make(user)
    assert api.delete("/api/auth/token", token=token).status_code == 204
    response = api.get("/api/me", token=token)
    assert response.status_code == 401
    assert error_code(response) == "token_revoked"


def test_revoking_revokes_only_the_token_in_use(api):
    user = user_make()
    first, second = token_make(user), token_make(user)
    api.delete("/api/auth/token", token=first)
    assert api.get("/api/me", token=second).status_code == 200


def test_an_expired_token_is_refused(api):
    user = user_make()
    token = token_make(user)
    AuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.get("/api/me", token=token)
    assert response.status_code == 401
    assert error_code(response) == "token_expired"


def test_an_unknown_token_is_refused(api):
    response = api.get("/api/me", token="pt_not-a-real-token")
    assert response.status_code == 401
    assert error_code(response) == "token_invalid"


def test_a_deactivated_users_token_is_refused(api):
    user = user_make()
    token = token_make(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert error_code(api.get("/api/me", token=token)) == "token_invalid"


def test_session_login_works_for_the_browsable_api(api):
    user = user_make()
    api.client.force_login(user)
    response = api.client.get("/api/me", HTTP_HOST="localhost", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Django REST framework" in response.content
    assert user.email.encode() in response.content


def test_the_browsable_api_login_form_lands_on_who_you_are(api):
    """Without ?next=, Django would send the browser to /accounts/profile/, which is no page here."""
    user = user_make()
    form = {"username": user.email, "password": PASSWORD}

    response = api.client.post("/api-auth/login/", form, HTTP_HOST="localhost")

    assert (response.status_code, response["Location"]) == (302, "/api/me")
    assert api.client.get("/api/me", HTTP_HOST="localhost").json()["user"]["email"] == user.email


def test_token_use_is_recorded_without_a_write_per_request(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    token = token_make(user_make())
    api.get("/api/me", token=token)
    assert AuthToken.objects.get().last_used_at is not None
    with CaptureQueriesContext(connection) as queries:
        api.get("/api/me", token=token)
    assert not any(q["sql"].startswith("UPDATE") for q in queries.captured_queries)
