"""The OpenAPI schema says what the API answers: pages, errors, downloads."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver
from PIL import Image

from common.schema import STATUS_TEXT
from tests.helpers import error_code

pytestmark = pytest.mark.django_db

PAGE_LISTS = [
    "/api/tenants",
    "/api/tenants/{tenant_id}/members",
    "/api/tenants/{tenant_id}/audit",
    "/api/tenants/{tenant_id}/invitations",
    "/api/jobs",
    "/api/rooms",
    "/api/notifications",
    "/api/files",
    "/api/reports",
]
CURSOR_LISTS = ["/api/rooms/{room_id}/messages"]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json", HTTP_HOST="localhost")
    assert response.status_code == 200
    return response.json()


def resolve(schema, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def ok_json(schema, path: str) -> dict:
    return resolve(schema, schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"])


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_the_ten_paginated_lists_are_documented_as_pages_not_arrays(schema):
    for path in PAGE_LISTS:
        page = ok_json(schema, path)
        assert page["type"] == "object" and {"count", "results"} <= set(page["required"]), path
        assert set(page["properties"]) == {"count", "next", "previous", "results"}, path
        assert page["properties"]["results"]["type"] == "array", path
    for path in CURSOR_LISTS:
        page = ok_json(schema, path)
        assert set(page["properties"]) == {"next", "previous", "results"}, path
    params = {p["name"] for p in schema["paths"]["/api/tenants"]["get"]["parameters"]}
    assert {"page", "page_size"} <= params
    assert {p["name"] for p in schema["paths"]["/api/rooms/{room_id}/messages"]["get"]["parameters"]} >= {"cursor"}


def test_a_documented_page_is_what_the_list_answers(schema, api, acme):
    body = api.get("/api/tenants", token=acme.owner_token).json()
    assert set(body) == set(ok_json(schema, "/api/tenants")["properties"])
    assert body["count"] == 1 and body["results"][0]["slug"] == "acme"


def test_the_error_shape_is_one_component(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = resolve(schema, error["properties"]["error"])
    assert set(detail["properties"]) == {"code", "message", "details"} == set(detail["required"])


def test_every_operation_documents_its_errors_as_the_error_shape(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        statuses = {int(code) for code in responses}
        assert {400, 401, 403, 404, 503} <= statuses, (method, path)
        if method in ("POST", "PUT", "PATCH"):
            assert 413 in statuses, (method, path)
        for code in statuses - set(range(100, 400)):
            assert responses[str(code)]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, (method, path, code)
            assert "`" in responses[str(code)]["description"], (method, path, code)  # names its codes


def test_operations_document_their_own_conflicts(schema):
    assert "409" not in schema["paths"]["/api/auth/signup"]["post"]["responses"]  # it never tells who has an account
    assert "409" in schema["paths"]["/api/tenants"]["post"]["responses"]
    assert "409" in schema["paths"]["/api/tenants/{tenant_id}/members"]["post"]["responses"]
    assert "409" in schema["paths"]["/api/reports/{report_id}/download"]["get"]["responses"]
    assert "409" not in schema["paths"]["/api/rooms"]["post"]["responses"]


def test_a_views_own_error_codes_name_methods_it_serves_and_known_statuses():
    declared = {cls: cls.error_codes for cls in _api_view_classes() if "error_codes" in vars(cls)}
    assert declared  # the views below do declare some
    for view, codes in declared.items():
        for method, statuses in codes.items():
            assert hasattr(view, method), f"{view.__qualname__}.error_codes names {method!r}, which it does not serve"
            assert set(statuses) <= set(STATUS_TEXT), (view.__qualname__, method, set(statuses) - set(STATUS_TEXT))


def test_bearer_tokens_are_a_documented_security_scheme(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert {"bearerAuth": []} in schema["paths"]["/api/tenants"]["get"]["security"]


def test_downloads_document_the_types_they_send(schema):
    file_download = schema["paths"]["/api/files/{file_id}/download"]["get"]["responses"]
    assert set(file_download["200"]["content"]) == {"*/*"}
    report_download = schema["paths"]["/api/reports/{report_id}/download"]["get"]["responses"]
    assert set(report_download["200"]["content"]) == {"text/csv"}


def test_a_file_download_asked_with_its_own_type_is_not_refused(api, acme):
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(png, "PNG")
    uploaded = api.client.post(
        "/api/upload",
        {"file": SimpleUploadedFile("a.png", png.getvalue())},
        format="multipart",
        HTTP_HOST="acme.localhost",
        HTTP_AUTHORIZATION=f"Bearer {acme.owner_token}",
    )
    assert uploaded.status_code == 201, uploaded.content
    download = api.get(
        f"/api/files/{uploaded.json()['id']}/download",
        host="acme.localhost",
        token=acme.owner_token,
        headers={"Accept": "image/png"},
    )
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content) == png.getvalue()


def test_a_report_download_asked_as_csv_answers_errors_as_json(api, acme):
    asked = api.post("/api/reports", host="acme.localhost", token=acme.owner_token, json={"kind": "members"})
    assert asked.status_code == 202
    download = api.get(
        f"/api/reports/{asked.json()['report_id']}/download",
        host="acme.localhost",
        token=acme.owner_token,
        headers={"Accept": "text/csv"},
    )
    assert download.status_code == 409 and download["Content-Type"] == "application/json"
    assert error_code(download) == "report_not_ready"


def test_the_event_stream_is_documented_too(schema):
    events = schema["paths"]["/api/events"]["get"]
    assert set(events["responses"]["200"]["content"]) == {"text/event-stream"}
    assert {p["name"] for p in events["parameters"]} == {"channels", "last_event_id", "Last-Event-ID", "X-Tenant-ID"}
    assert "`too_many_connections`" in events["responses"]["429"]["description"]


def test_tenant_operations_document_the_tenant_header(schema):
    headers = {p["name"] for p in schema["paths"]["/api/rooms"]["get"]["parameters"] if p["in"] == "header"}
    assert headers == {"X-Tenant-ID"}
    assert not any(p["in"] == "header" for p in schema["paths"]["/api/tenants"]["get"].get("parameters", []))


def _api_view_classes():
    from config import urls_schema

    seen = []

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns)
            elif hasattr(pattern.callback, "cls"):
                seen.append(pattern.callback.cls)

    walk(get_resolver(urls_schema).url_patterns)
    return seen
