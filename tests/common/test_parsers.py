"""Bad JSON of any shape is `400 malformed_request` on every JSON endpoint, never a 500
(common.parsers.JSONParser, DRF's parser for all views)."""

import httpx
import pytest
from django.test import Client

from tests.helpers import error_code

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000


def post(path: str, body: str, *, host: str, token: str | None = None, method: str = "post"):
    client = Client(raise_request_exception=False)  # a RecursionError shows as the 500 a client gets
    extra = {"HTTP_HOST": host}
    if token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return getattr(client, method)(path, data=body, content_type="application/json", **extra)


@pytest.mark.parametrize("path", ["/api/auth/signup", "/api/auth/token"])
def test_deeply_nested_json_sent_anonymously_is_malformed(path):
    response = post(path, DEEP, host="localhost")
    assert response.status_code == 400, response.content[:300]
    assert error_code(response) == "malformed_request"


@pytest.mark.parametrize("path", ["/api/rooms", "/api/jobs", "/api/upload/presign", "/api/realtime/announcements"])
def test_deeply_nested_json_is_malformed_on_tenant_endpoints(acme, path):
    response = post(path, DEEP, host="acme.localhost", token=acme.owner_token)
    assert response.status_code == 400, response.content[:300]
    assert error_code(response) == "malformed_request"


def test_deeply_nested_settings_are_malformed(acme):
    response = post(
        f"/api/tenants/{acme.pk}/settings",
        '{"frontend_origins": ' + DEEP,
        host="localhost",
        token=acme.owner_token,
        method="put",
    )
    assert response.status_code == 400
    assert error_code(response) == "malformed_request"


def test_json_nested_deeper_than_the_parser_takes_is_malformed_even_when_python_could_parse_it(acme):
    body = '{"task": "noop", "payload": {"x": ' + "[" * 200 + "]" * 200 + "}}"
    response = post("/api/jobs", body, host="acme.localhost", token=acme.owner_token)
    assert response.status_code == 400
    assert error_code(response) == "malformed_request"
    assert "nested" in response.json()["error"]["message"]


def test_ordinary_nesting_is_parsed_and_validated_as_usual(acme):
    body = '{"name": [[["general"]]]}'
    response = post("/api/rooms", body, host="acme.localhost", token=acme.owner_token)
    assert response.status_code == 400
    assert error_code(response) == "validation_error"


def test_the_real_server_answers_deeply_nested_json_with_a_400(committed, asgi_server):
    response = httpx.post(
        f"{asgi_server.url}/api/auth/token",
        content=DEEP,
        timeout=10,
        headers={"Host": "localhost", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text[:300]
    assert error_code(response) == "malformed_request"
