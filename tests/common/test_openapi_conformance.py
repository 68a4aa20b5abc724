"""The API answers what its OpenAPI schema says, on the platform host and on a tenant host.

schemathesis (CLI, in a subprocess) reads /api/schema/ from the real uvicorn server and
sends each operation the schema's examples and its coverage cases (boundary values,
missing and wrong-typed fields, …) as the tenant's owner. The run fails on any 5xx, on a
status the operation does not document, and on a body that does not match its schema.

Left out, and why:
- DELETE /api/auth/token revokes the very token the run authenticates with;
- PATCH /api/tenants/{id}/settings is PUT's handler (`patch = put`): the same ~430 coverage
  cases again, for half the platform run's time;
- GET /api/events (SSE) answers a stream that never ends: each accepted case would wait for
  the request timeout; its refusals are covered by tests/realtime/test_sse.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from config.urls_public import platform_api
from config.urls_tenants import tenant_api
from realtime.models import Room
from tenants.models import Tenant
from tests.factories import member_make

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXCLUDED = [("DELETE", "/api/auth/token"), ("PATCH", "/api/tenants/{tenant_id}/settings"), ("GET", "/api/events")]
BUDGET_SECONDS = 60  # per host; typically 15-20 s (~1,200 requests), 30 s on a loaded machine


def openapi_path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def only_paths(patterns, *, but_not) -> str:
    """A regex of the OpenAPI paths of `patterns` that `but_not` does not serve too."""
    shared = {openapi_path(str(p.pattern)) for p in but_not}
    paths = {openapi_path(str(p.pattern)) for p in patterns} - shared
    return "^(" + "|".join(re.escape(path) for path in sorted(paths)) + ")$"


def schemathesis(server, *, host: str, token: str, other_host_paths: str, ids: dict, tmp_path: Path):
    config = tmp_path / "schemathesis.toml"  # real ids, so that cases get past the 404s
    config.write_text(
        "[parameters]\n" + "".join(f'"path.{name}" = {json.dumps(value)}\n' for name, value in ids.items())
    )
    command = [
        str(Path(sys.executable).with_name("st")),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"{server.url}/api/schema/?format=json",
        "--url",
        server.url,
        # examples: at most 10 per operation; coverage: a fixed set per operation (~1,200 per host)
        "--phases",
        "examples,coverage",
        "--max-examples",
        "10",
        "--checks",
        CHECKS,
        "--request-timeout",
        "10",
        "--seed",
        "1",
        "--workers",
        "1",  # Python 3.11.7: ast.parse in two threads can raise SystemError (hypothesis uses it)
        "--header",
        f"Host: {host}",
        "--header",
        f"Authorization: Bearer {token}",
        "--exclude-path-regex",
        other_host_paths,
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),  # per-operation times, if wanted
    ]
    for method, path in EXCLUDED:
        command += ["--exclude-name", f"{method} {path}"]
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=BUDGET_SECONDS * 3, cwd=tmp_path)
    return run, time.monotonic() - started


@pytest.fixture
def ids(committed, acme):
    """acme, committed for the server process (its per-minute budgets out of the run's way),
    with a member and a room: the ids the path parameters take."""
    Tenant.objects.filter(pk=acme.pk).update(
        settings={**acme.settings, "rate_limit_per_minute": 100_000, "uploads_per_minute": 10_000}
    )
    member = member_make(acme, email="member@acme.test")
    with tenant_context(acme):
        room = Room.objects.create(name="general", created_by=acme.owner)
    return {"tenant_id": str(acme.pk), "user_id": member.pk, "room_id": room.pk}


@pytest.mark.parametrize("host", ["platform", "tenant"])
def test_the_api_conforms_to_its_openapi_schema(asgi_server, acme, ids, host, tmp_path):
    host_header, other_host_paths = {
        "platform": ("localhost", only_paths(tenant_api, but_not=platform_api)),
        "tenant": ("acme.localhost", only_paths(platform_api, but_not=tenant_api)),
    }[host]
    run, seconds = schemathesis(
        asgi_server,
        host=host_header,
        token=acme.owner_token,
        ids=ids,
        other_host_paths=other_host_paths,
        tmp_path=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]
    assert seconds < BUDGET_SECONDS, f"schemathesis took {seconds:.0f} s on the {host} host"
