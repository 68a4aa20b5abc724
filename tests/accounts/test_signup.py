"""Signup answers the same to everyone; what happened is told only to the address, by email."""

import time

import pytest

from accounts.models import User
from jobs.models import Job
from tests.factories import PASSWORD, user_make
from tests.helpers import error_code

pytestmark = pytest.mark.django_db


def signup(api, email, password=PASSWORD, **kw):
    return api.post("/api/auth/signup", json={"email": email, "password": password}, **kw)


def signup_emails():
    return [
        (job.payload["to"], job.payload["template"])
        for job in Job.objects.filter(task="email.platform_send").order_by("id")
    ]


def test_a_new_address_gets_its_account_a_welcome_email_and_then_logs_in(api):
    response = signup(api, "New@Example.com")

    assert response.status_code == 202
    assert response.json() == {
        "email": "new@example.com",
        "message": "Check your inbox: we have sent a message to this address.",
    }
    assert User.objects.get().email == "new@example.com"
    assert signup_emails() == [(["new@example.com"], "account_created")]
    login = api.post("/api/auth/token", json={"email": "new@example.com", "password": PASSWORD})
    assert login.status_code == 200 and login.json()["token"]


def test_a_taken_address_gets_the_same_answer_and_an_email_saying_someone_tried(api):
    signup(api, "ada@example.com")
    response = signup(api, "ADA@example.com", password="another-long-password")

    assert response.status_code == 202
    assert response.json() == signup(api, "grace@example.com").json() | {"email": "ada@example.com"}
    assert User.objects.filter(email="ada@example.com").count() == 1
    assert signup_emails() == [
        (["ada@example.com"], "account_created"),
        (["ada@example.com"], "signup_attempted"),
        (["grace@example.com"], "account_created"),
    ]
    # Nothing about the account changed: its own password still opens it, the other one does not.
    assert api.post("/api/auth/token", json={"email": "ada@example.com", "password": PASSWORD}).status_code == 200
    wrong = api.post("/api/auth/token", json={"email": "ada@example.com", "password": "another-long-password"})
    assert wrong.status_code == 401


def test_a_new_and_a_taken_address_take_about_as_long(api, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # production's cost
    settings.AUTH_LIMITS = {**settings.AUTH_LIMITS, "PER_IP": 1000}
    user_make("taken@example.com")

    def timed(email):
        start = time.perf_counter()
        assert signup(api, email).status_code == 202
        return time.perf_counter() - start

    new, taken = [], []
    for i in range(3):  # interleaved, and the fastest of each: robust to a busy machine
        new.append(timed(f"new{i}@example.com"))
        taken.append(timed("taken@example.com"))
    # Without the same hashing work, a taken address would answer ~100× faster.
    assert 0.5 < min(taken) / min(new) < 2, (new, taken)


def test_signups_are_limited_per_address_and_per_client(api, settings):
    settings.AUTH_LIMITS = {"WINDOW_SECONDS": 900, "PER_ACCOUNT": 2, "PER_IP": 4, "SIGNUPS_PER_EMAIL": 2}
    assert [signup(api, "ada@example.com").status_code for _ in range(3)] == [202, 202, 429]
    others = [signup(api, f"user{i}@example.com").status_code for i in range(3)]
    assert others == [202, 202, 429]  # the client's 4 are spent
    limited = signup(api, "zed@example.com", host="localhost")
    assert error_code(limited) == "rate_limited" and int(limited.headers["Retry-After"]) > 0
    assert len(signup_emails()) == 4  # no email for a refused signup


def test_invalid_input_spends_nothing_and_sends_nothing(api, settings):
    settings.AUTH_LIMITS = {"WINDOW_SECONDS": 900, "PER_ACCOUNT": 1, "PER_IP": 1}
    for _ in range(3):
        assert signup(api, "ada@example.com", password="123").status_code == 400
    assert signup(api, "ada@example.com").status_code == 202
    assert signup_emails() == [(["ada@example.com"], "account_created")]


def test_signing_up_with_someones_email_does_not_lock_them_out_of_logging_in(api, settings):
    settings.AUTH_LIMITS = {"WINDOW_SECONDS": 900, "PER_ACCOUNT": 2, "PER_IP": 50, "SIGNUPS_PER_EMAIL": 2}
    user_make("victim@example.com")
    assert [signup(api, "victim@example.com").status_code for _ in range(5)] == [202, 202, 429, 429, 429]
    login = api.post("/api/auth/token", host="localhost", json={"email": "victim@example.com", "password": PASSWORD})
    assert login.status_code == 200, login.content
