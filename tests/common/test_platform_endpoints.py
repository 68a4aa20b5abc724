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
    for path in ["/api/auth/signup", "/api/auth/token", "/api/tenants", "/api/tenants/{tenant_id}/settings",
                 "/api/tenants/{tenant_id}/usage", "/api/tenants/{tenant_id}/members",
                 "/api/tenants/{tenant_id}/members/{user_id}", "/api/tenants/{tenant_id}/audit",
                 "/api/me", "/api/tenant"]:
        assert path in paths, path


def test_the_swagger_ui_loads(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200 and b"swagger-ui" in response.content


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
    client = Client(raise_request_exception=False, HTTP_HOST="localhost",
                    HTTP_AUTHORIZATION=f"Bearer {acme.owner_token}")
    response = client.get(f"/api/tenants/{acme.pk}/usage")
    assert response.status_code == 500
    assert error_code(response) == "internal_error"
