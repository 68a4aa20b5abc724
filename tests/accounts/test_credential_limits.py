"""Password checks are limited per account and per client address, on every host together."""

import time

import httpx
import pytest

from accounts.models import AuthToken
from tests.factories import PASSWORD, user_make
from tests.helpers import error_code

pytestmark = pytest.mark.django_db

WRONG = "wrong-password"


def login(api, email, password=WRONG, host="localhost", ip=None):
    headers = {"X-Forwarded-For": ip} if ip else None
    return api.post("/api/auth/token", host=host, json={"email": email, "password": password}, headers=headers)


@pytest.fixture
def small_limits(settings):
    settings.AUTH_LIMITS = {"WINDOW_SECONDS": 900, "PER_ACCOUNT": 3, "PER_IP": 5}
    return settings.AUTH_LIMITS


def assert_rate_limited(response):
    assert response.status_code == 429, response.content
    assert error_code(response) == "rate_limited"
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 900
    assert response.json()["error"]["details"]["retry_after"] == retry_after


def test_a_forged_x_forwarded_for_buys_no_extra_logins_on_the_real_server(committed, asgi_server):
    """As `make run` serves (uvicorn on loopback): each guess claims another client address."""
    user_make("victim@example.com")
    with httpx.Client(base_url=asgi_server.url, headers={"Host": "localhost"}, timeout=10) as client:

        def attempt(i, password=WRONG, email="victim@example.com"):
            return client.post(
                "/api/auth/token",
                json={"email": email, "password": password},
                headers={"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"203.0.113.{i}"},
            )

        statuses = [attempt(i).status_code for i in range(10)]
        assert statuses == [401] * 10
        locked = attempt(10, password=PASSWORD)  # even the right password: the account is locked
        assert_rate_limited(locked)
        # And one address spraying many accounts is stopped too, whatever it claims to be.
        sprayed = [attempt(100 + i, email=f"nobody{i}@example.com").status_code for i in range(41)]
        assert sprayed == [401] * 40 + [429]  # 50 failures per address
    assert not AuthToken.objects.exists()


def test_failed_logins_of_an_account_share_one_budget_across_the_platform_and_tenant_hosts(
    api, acme, globex, small_limits
):
    user = user_make("ada@example.com")
    for host in ["localhost", "acme.localhost", "globex.localhost"]:
        assert login(api, user.email, host=host).status_code == 401
    assert_rate_limited(login(api, user.email, PASSWORD, host="acme.localhost"))
    assert_rate_limited(login(api, user.email, PASSWORD, host="localhost"))
    assert not AuthToken.objects.filter(user=user).exists()


def test_the_account_limit_counts_only_failures(api, small_limits):
    user = user_make("ada@example.com")
    for _ in range(5):
        assert login(api, user.email, PASSWORD).status_code == 200
    assert login(api, user.email).status_code == 401
    assert login(api, user.email, PASSWORD).status_code == 200


def test_one_address_trying_many_accounts_is_limited(api, small_limits):
    responses = [login(api, f"user{i}@example.com") for i in range(6)]
    assert [r.status_code for r in responses] == [401] * 5 + [429]
    assert_rate_limited(responses[-1])


def test_the_limit_ends_when_the_window_moves_on(api, settings):
    settings.AUTH_LIMITS = {"WINDOW_SECONDS": 1, "PER_ACCOUNT": 2, "PER_IP": 100}
    user = user_make("ada@example.com")
    login(api, user.email), login(api, user.email)
    assert_rate_limited(login(api, user.email, PASSWORD))
    time.sleep(1.1)
    assert login(api, user.email, PASSWORD).status_code == 200


def test_the_session_and_admin_login_forms_spend_the_same_budget(api, small_limits):
    user = user_make("ada@example.com", is_staff=True, is_superuser=True)
    form = {"username": user.email, "password": WRONG}
    assert api.client.post("/api-auth/login/", form, HTTP_HOST="localhost").status_code == 200  # the form again
    assert api.client.post("/admin/login/", form, HTTP_HOST="localhost").status_code == 200
    assert login(api, user.email).status_code == 401
    for path in ["/api-auth/login/", "/admin/login/"]:
        response = api.client.post(path, {**form, "password": PASSWORD}, HTTP_HOST="localhost")
        assert_rate_limited(response)
    assert "_auth_user_id" not in api.client.session


def test_behind_a_proxy_the_client_is_the_address_the_proxy_saw(api, settings, small_limits):
    settings.NUM_PROXIES = 1
    user_make("ada@example.com")
    # The proxy appends the real peer (198.51.100.7); whatever the client wrote stays on the left.
    for i in range(5):
        assert login(api, f"user{i}@example.com", ip=f"10.0.0.{i}, 198.51.100.7").status_code == 401
    assert_rate_limited(login(api, "user9@example.com", ip="10.9.9.9, 198.51.100.7"))
    assert login(api, "user9@example.com", ip="198.51.100.8").status_code == 401  # another client


def test_without_a_proxy_x_forwarded_for_is_ignored(api, small_limits):
    for i in range(5):
        assert login(api, f"user{i}@example.com", ip=f"198.51.100.{i}").status_code == 401
    assert_rate_limited(login(api, "user9@example.com", ip="198.51.100.99"))


def test_guessing_from_one_address_does_not_lock_the_owner_out_from_another(api, settings, small_limits):
    settings.NUM_PROXIES = 1  # the addresses below are the ones the proxy saw
    user = user_make("ada@example.com")
    guesser, owner, other = "198.51.100.7", "198.51.100.8", "198.51.100.9"
    assert [login(api, user.email, ip=guesser).status_code for _ in range(3)] == [401] * 3
    assert_rate_limited(login(api, user.email, PASSWORD, ip=guesser))  # the guesser is stopped, right password or not
    assert login(api, user.email, PASSWORD, ip=owner).status_code == 200  # the owner is not
    # While the account is over its limit, any other address gets one try, then is stopped too.
    assert login(api, user.email, ip=other).status_code == 401
    assert_rate_limited(login(api, user.email, PASSWORD, ip=other))
