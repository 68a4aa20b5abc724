"""TenantApi and IsTenantManager (tenants/api_base.py): the answers every app's manager-only
endpoints give, in the order they give them; and the usage registry (tenants/usage.py)."""

from __future__ import annotations

import pytest

from tenants.usage import _contributions, usage_contribution_register, usage_with_contributions
from tests.factories import member_make, token_make
from tests.helpers import error_code

pytestmark = pytest.mark.django_db

HOST = "acme.localhost"
MANAGER_ONLY = ["/api/send-email", "/api/imports", "/api/realtime/announcements", "/api/reports"]


@pytest.fixture
def member_token(acme):
    return token_make(member_make(acme))


@pytest.mark.parametrize("path", MANAGER_ONLY)
def test_a_member_is_refused_with_the_roles_required(api, member_token, path):
    response = api.post(path, host=HOST, token=member_token, json={})

    assert (response.status_code, error_code(response)) == (403, "insufficient_role")
    assert response.json()["error"]["message"] == "Your role in this tenant does not allow this."
    assert response.json()["error"]["details"] == {"required": ["owner", "admin"]}


def test_starting_a_job_refuses_a_member_naming_the_roles_required(api, member_token):
    response = api.post("/api/jobs", host=HOST, token=member_token, json={"task": "noop"})

    assert (response.status_code, error_code(response)) == (403, "insufficient_role")
    assert response.json()["error"]["details"] == {"required": ["owner", "admin"]}


def test_without_a_tenant_the_view_answers_tenant_not_specified_before_the_role(acme):
    """(Over HTTP the tenant middleware answers this first; the view holds the same order.)"""
    from rest_framework.test import APIRequestFactory, force_authenticate

    from emails.apis import SendEmailApi

    request = APIRequestFactory().post("/api/send-email", {}, format="json")
    force_authenticate(request, user=acme.owner)
    response = SendEmailApi.as_view()(request)

    assert (response.status_code, response.data["error"]["code"]) == (400, "tenant_not_specified")


def test_a_method_the_view_does_not_serve_is_a_405_before_the_role(api, member_token):
    response = api.get("/api/realtime/announcements", host=HOST, token=member_token)

    assert (response.status_code, error_code(response)) == (405, "method_not_allowed")


def test_options_is_answered_to_a_member(api, member_token):
    response = api.request("OPTIONS", "/api/send-email", host=HOST, token=member_token)

    assert response.status_code == 200 and response.json()["name"] == "Send Email Api"  # DRF's metadata


def test_for_methods_leaves_the_other_methods_to_members(api, acme, member_token):
    assert api.get("/api/reports", host=HOST, token=member_token).status_code == 200
    assert error_code(api.post("/api/reports", host=HOST, token=member_token, json={})) == "insufficient_role"
    assert api.post("/api/reports", host=HOST, token=acme.owner_token, json={}).status_code == 400  # past the role


def test_usage_figures_come_from_the_registered_apps(acme):
    assert {"jobs", "uploads"} <= set(_contributions)
    figures = usage_with_contributions(acme, {"members": 1})
    assert figures == {"members": 1, "jobs": 0, "storage_bytes": 0, "files": 0}


def test_a_usage_figure_reported_twice_is_an_error(acme, monkeypatch):
    with pytest.raises(RuntimeError, match="files"):
        usage_with_contributions(acme, {"files": 0})  # uploads reports it too

    monkeypatch.setattr("tenants.usage._contributions", dict(_contributions))
    usage_contribution_register("duplicate", lambda tenant: {"jobs": 1})
    with pytest.raises(RuntimeError, match="jobs"):
        usage_with_contributions(acme, {"members": 1})
