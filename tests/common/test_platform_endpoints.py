"""Health probes, the OpenAPI schema and docs, and one error shape everywhere."""

import pytest
from django.test import Client

from tests.helpers import error_code

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_authentication(api):
    assert api.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_postgres_and_redis(api):
    body = api.get("/readyz").json()
    assert body == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


def test_readyz_answers_503_when_redis_is_unreachable(api, settings, monkeypatch):
    import redis

    from common import health

    monkeypatch.setattr(health, "redis_client", lambda: redis.Redis(unix_socket_path="/nonexistent.sock"))
    response = api.get("/readyz")
    assert response.status_code == 503
    assert error_code(response) == "service_unavailable"
    assert response.json()["error"]["details"]["redis"].startswith("error")


def test_probes_answer_on_tenant_hosts_too(api, acme):
    assert api.get("/healthz", host="acme.localhost").status_code == 200


def test_the_openapi_schema_documents_both_hosts(api):
    response = api.get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/auth/signup",
        "/api/auth/token",
        "/api/tenants",
        "/api/tenants/{tenant_id}/settings",
        "/api/tenants/{tenant_id}/usage",
        "/api/tenants/{tenant_id}/members",
        "/api/tenants/{tenant_id}/members/{user_id}",
        "/api/tenants/{tenant_id}/audit",
        "/api/me",
        "/api/tenant",
    ]:
        assert path in paths, path


def test_the_swagger_ui_loads(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200 and b"swagger-ui" in response.content


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_options_on_the_docs_pages_is_a_405_in_the_error_shape(api, acme, path, host):
    """OPTIONS rendered DRF's metadata through the Swagger page's template: a 500 (fuzzing)."""
    for token in (None, acme.owner_token):
        response = api.request("OPTIONS", path, host=host, token=token)
        assert response.status_code == 405, response.content[:300]
        assert error_code(response) == "method_not_allowed"
    assert api.request("HEAD", path, host=host).status_code == 200


def test_an_unknown_path_is_a_404_in_the_error_shape(api):
    response = api.get("/no/such/path")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_a_wrong_method_is_a_405_in_the_error_shape(api, acme):
    response = api.delete(f"/api/tenants/{acme.pk}/usage", token=acme.owner_token)
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"


def test_an_unexpected_failure_is_a_500_in_the_error_shape(acme, monkeypatch):
    from tenants import apis

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(apis, "tenant_usage", explode)
    client = Client(
        raise_request_exception=False, HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {acme.owner_token}"
    )
    response = client.get(f"/api/tenants/{acme.pk}/usage")
    assert response.status_code == 500
    assert error_code(response) == "internal_error"


# --- /healthz on every host -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_on_an_unknown_host(api, path):
    response = api.get(path, host="nobody.example.com")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ok"


def test_healthz_ignores_credentials_it_does_not_need(api):
    response = api.get(
        "/healthz", host="nobody.localhost", token="pt_not-a-token", headers={"X-Tenant-ID": "not-a-tenant"}
    )
    assert response.status_code == 200


def test_an_unknown_host_still_serves_nothing_else(api):
    response = api.get("/api/me", host="nobody.example.com")
    assert response.status_code == 404
    assert error_code(response) == "tenant_not_found"


# --- errors are JSON for a browser too (Accept: text/html) -----------------------------------

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_an_api_error_is_json_when_html_is_asked_for(api, acme):
    response = api.get("/api/tenant", host="acme.localhost", headers=HTML)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert error_code(response) == "not_authenticated"


def test_a_validation_error_is_json_when_html_is_asked_for(api, acme):
    response = api.post("/api/rooms", host="acme.localhost", token=acme.owner_token, json={}, headers=HTML)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert error_code(response) == "validation_error"


def test_a_wrong_method_is_json_when_html_is_asked_for(api, acme):
    response = api.delete(f"/api/tenants/{acme.pk}/usage", token=acme.owner_token, headers=HTML)
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"


def test_a_session_without_its_csrf_token_is_a_json_403(acme):
    client = Client(enforce_csrf_checks=True, HTTP_HOST="acme.localhost", HTTP_ACCEPT=HTML["Accept"])
    client.force_login(acme.owner)
    response = client.post("/api/rooms", data={"name": "general"}, content_type="application/json")
    assert response.status_code == 403
    assert error_code(response) == "csrf_failed"


def test_a_csrf_failure_outside_drf_on_the_api_is_json(acme):
    """/api/events is a plain Django view: Django's CSRF check answers a POST (CSRF_FAILURE_VIEW)."""
    client = Client(enforce_csrf_checks=True, HTTP_HOST="acme.localhost", HTTP_ACCEPT=HTML["Accept"])
    client.force_login(acme.owner)
    response = client.post("/api/events")
    assert response.status_code == 403
    assert error_code(response) == "csrf_failed"


def test_an_unknown_api_path_is_json_even_with_debug_on(api, settings):
    settings.DEBUG = True  # Django's technical 404 page is HTML
    response = api.get("/api/no/such/thing", headers=HTML)
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_an_api_crash_is_json_even_with_debug_on(acme, settings, monkeypatch):
    from tenants import apis

    def explode(**kwargs):
        raise RuntimeError("boom")

    settings.DEBUG = True  # Django's technical 500 page is HTML
    monkeypatch.setattr(apis, "tenant_usage", explode)
    client = Client(
        raise_request_exception=False,
        HTTP_HOST="localhost",
        HTTP_ACCEPT=HTML["Accept"],
        HTTP_AUTHORIZATION=f"Bearer {acme.owner_token}",
    )
    response = client.get(f"/api/tenants/{acme.pk}/usage")
    assert response.status_code == 500
    assert error_code(response) == "internal_error"
