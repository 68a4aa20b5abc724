"""Tenants get a migrated schema without any migrate on the request path."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import PooledSchema, Tenant
from tenants.provisioning import pool_fill, pool_refresh, schema_is_present, template_schema
from tests.factories import tenant_make, token_make, user_make

pytestmark = pytest.mark.django_db


def applied_migrations(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')
        return set(cursor.fetchall())


def test_a_new_tenant_claims_a_pooled_schema(api):
    pool_fill(2)
    pooled = set(PooledSchema.objects.values_list("schema_name", flat=True))
    response = api.post("/api/tenants", token=token_make(user_make()), json={"name": "Pooled", "slug": "pooled"})
    assert response.status_code == 201
    assert PooledSchema.objects.count() == 1
    claimed = pooled - set(PooledSchema.objects.values_list("schema_name", flat=True))
    assert len(claimed) == 1 and not schema_is_present(claimed.pop())
    assert schema_is_present("t_pooled")


def test_a_pooled_tenant_schema_is_fully_migrated(db):
    pool_fill(1)
    tenant = tenant_make("pooled")
    assert tenant.provisioned_by == "pool"
    assert applied_migrations("t_pooled") == applied_migrations(template_schema())
    assert ("contenttypes", "0002_remove_content_type_name") in applied_migrations("t_pooled")


def test_with_an_empty_pool_the_template_is_cloned(db):
    tenant = tenant_make("cloned")
    assert tenant.provisioned_by == "clone"
    assert applied_migrations("t_cloned") == applied_migrations(template_schema())


def test_creating_a_tenant_runs_no_migration(api):
    pool_fill(1)
    with CaptureQueriesContext(connection) as queries:
        api.post("/api/tenants", token=token_make(user_make()), json={"name": "Fast", "slug": "fast"})
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "CREATE TABLE" not in sql and 'INSERT INTO "django_migrations"' not in sql
    assert "ALTER SCHEMA" in sql


def test_a_duplicate_slug_is_refused_before_any_schema_is_claimed(api, acme):
    pool_fill(1)
    response = api.post("/api/tenants", token=token_make(user_make()), json={"name": "Dup", "slug": "acme"})
    assert response.status_code == 409
    assert PooledSchema.objects.count() == 1
    assert schema_is_present(PooledSchema.objects.get().schema_name)


def test_a_create_that_fails_after_claiming_gives_the_pooled_schema_back(committed, monkeypatch):
    """Committed, as production runs: the claim (a schema rename) and everything after it
    are one transaction, so a failure after the claim leaves the pool as it was."""
    pool_fill(1)
    (pooled,) = PooledSchema.objects.values_list("schema_name", flat=True)

    def audit_down(**kwargs):
        raise RuntimeError("the audit log is down")

    # the audit row: written by a within-transaction subscriber of tenant.created, after the claim
    monkeypatch.setattr("tenants.subscribers.audit_record", audit_down)
    with pytest.raises(RuntimeError):
        tenant_make("halfway")
    assert list(PooledSchema.objects.values_list("schema_name", flat=True)) == [pooled]
    assert schema_is_present(pooled) and not schema_is_present("t_halfway")
    assert not Tenant.objects.filter(slug="halfway").exists()


def test_refreshing_the_pool_replaces_every_pooled_schema(db):
    pool_fill(2)
    before = set(PooledSchema.objects.values_list("schema_name", flat=True))
    pool_refresh(2)
    after = set(PooledSchema.objects.values_list("schema_name", flat=True))
    assert len(after) == 2 and not (before & after)
    assert not any(schema_is_present(name) for name in before)


def test_pooled_schemas_are_not_tenants(db):
    pool_fill(2)
    assert Tenant.objects.count() == 0


def test_the_tenant_schema_is_dropped_with_the_tenant(db):
    tenant = tenant_make("doomed")
    tenant.delete()
    assert not schema_is_present("t_doomed")
