"""Real services for the whole run.

`make test` (config.devstack) starts PostgreSQL and Redis — embedded unless
DATABASE_URL/REDIS_URL are set — before pytest starts. pytest-django creates
the test database; here the template schema is migrated into it, Redis is
emptied between tests, and tenant schemas made by committing tests are dropped.
"""

from __future__ import annotations

import json as jsonlib
import os

import pytest
from django.db import connection
from rest_framework.test import APIClient

from common.localcache import flush_everywhere
from common.redis_client import redis_client
from tenants.provisioning import POOL_PREFIX, schema_drop, template_ensure

from .factories import tenant_make, token_make, user_make

if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
    pytest.exit(
        "Run the suite with `make test` (it starts PostgreSQL and Redis), or set DATABASE_URL and REDIS_URL.",
        returncode=2,
    )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        template_ensure()
    yield
    with django_db_blocker.unblock():  # async tests' worker threads keep connections open
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(autouse=True)
def _clean_slate():
    """Each test starts in the public schema with an empty Redis, and no process (this
    one, live servers) holding cached tokens or tenants of earlier tests."""
    redis_client().flushdb()
    flush_everywhere()
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture
def committed(transactional_db):
    """For tests whose data must be visible to other connections/processes:
    drops the tenant and pool schemas they created (pytest-django truncates
    the tables, not the schemas)."""
    yield
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%%' OR nspname LIKE %s", [POOL_PREFIX + "%"]
        )
        for (name,) in cursor.fetchall():
            schema_drop(name)


class Api:
    """A DRF test client that speaks to a host, with an optional token."""

    def __init__(self):
        self.client = APIClient()

    def request(
        self,
        method: str,
        path: str,
        *,
        host: str = "localhost",
        token: str | None = None,
        json=None,
        raw: str | None = None,
        headers: dict | None = None,
    ):
        extra = {"HTTP_HOST": host}
        if token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        for name, value in (headers or {}).items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        body = raw if raw is not None else (jsonlib.dumps(json) if json is not None else None)
        kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
        return getattr(self.client, method.lower())(path, **kwargs, **extra)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture
def api():
    return Api()


def _tenant_with_owner(slug: str):
    """Tenant `slug` with an owner (its token is `tenant.owner_token`)."""
    owner = user_make(f"owner@{slug}.test")
    tenant = tenant_make(slug, owner=owner)
    tenant.owner, tenant.owner_token = owner, token_make(owner)
    return tenant


@pytest.fixture
def acme(db):
    return _tenant_with_owner("acme")


@pytest.fixture
def globex(db):
    return _tenant_with_owner("globex")


@pytest.fixture(scope="session")
def asgi_server(django_db_setup):
    """uvicorn serving config.asgi on a free port, against the test database."""
    from .live import LiveServer

    server = LiveServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server (aiosmtpd) for the session; the session qcluster sends its email there."""
    from .smtp import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def qcluster(django_db_setup, smtp_server):
    """One real `manage.py qcluster` for the session, on the test database, its
    email backend pointed at `smtp_server`."""
    from .live import QCluster

    cluster = QCluster(extra_env=smtp_server.env).start()
    yield cluster
    cluster.stop()
