"""migrate_schemas checks every tenant schema against the template, and migrates only what differs."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.signals import schema_migrated

from tenants.provisioning import template_schema
from tests.factories import tenant_make

EXTRA = "tests.tenants.extra_realtime_migrations"
NOTE_MIGRATIONS = [("realtime", "0002_message_note"), ("realtime", "0003_message_note_index")]


def migrate_tenants(**options) -> tuple[str, str, list[str]]:
    """Run `migrate_schemas --tenant`; returns its stdout, its stderr and the schemas Django migrated."""
    migrated = []

    def seen(sender, schema_name, **kwargs):
        migrated.append(schema_name)

    schema_migrated.connect(seen)
    out, err = StringIO(), StringIO()
    try:
        call_command("migrate_schemas", "--tenant", interactive=False, stdout=out, stderr=err, **options)
    finally:
        schema_migrated.disconnect(seen)
        connection.set_schema_to_public()
    return out.getvalue(), err.getvalue(), migrated


def recorded(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')
        return set(cursor.fetchall())


def execute(sql: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def last_accounts_migration(schema: str) -> tuple[str, str]:
    return max(m for m in recorded(schema) if m[0] == "accounts")


@pytest.mark.django_db
def test_a_schema_that_records_the_templates_migrations_is_skipped():
    tenant_make("insync")
    out, _, migrated = migrate_tenants()
    assert "1 in sync (skipped)" in out and "0 migrated by django-tenants' executor" in out
    assert migrated == [template_schema()]  # only the template went through Django's migrate


@pytest.mark.django_db
def test_a_schema_missing_a_migration_gets_it_applied():
    tenant_make("insync")
    tenant_make("behind")
    missing = last_accounts_migration("t_behind")  # recorded in tenant schemas, no table there
    execute('DELETE FROM "t_behind".django_migrations WHERE app = %s AND name = %s', missing)
    out, _, migrated = migrate_tenants()
    assert missing in recorded("t_behind")
    assert recorded("t_behind") == recorded(template_schema())
    assert "t_behind" in migrated and "t_insync" not in migrated
    assert "1 in sync (skipped)" in out and "1 migrated by django-tenants' executor" in out


@pytest.mark.django_db
def test_a_schema_with_a_migration_the_template_lacks_is_reported_and_migrated():
    tenant_make("extra")
    execute("""INSERT INTO "t_extra".django_migrations (app, name, applied) VALUES ('realtime', '9999_gone', now())""")
    out, err, migrated = migrate_tenants()
    assert "Schema t_extra records migrations the template does not: realtime.9999_gone" in err
    assert "t_extra" in migrated
    assert "0 in sync (skipped)" in out and "1 migrated by django-tenants' executor" in out


@pytest.mark.django_db
def test_every_schema_runs_djangos_migrate_in_every_schema():
    tenant_make("insync")
    _, _, migrated = migrate_tenants(every_schema=True)
    assert "t_insync" in migrated


@pytest.fixture
def note_migrations(settings, committed):
    """realtime gains a nullable column and a concurrently built index; the template is put back after."""
    settings.MIGRATION_MODULES = {"realtime": EXTRA}
    yield
    connection.set_schema_to_public()
    template = template_schema()
    execute(f'ALTER TABLE "{template}".realtime_message DROP COLUMN IF EXISTS note')
    execute(
        f"""DELETE FROM "{template}".django_migrations WHERE app = 'realtime' AND name = ANY(%s)""",
        [[name for _, name in NOTE_MIGRATIONS]],
    )


def columns_and_indexes(schema: str) -> tuple[list, list]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'realtime_message' ORDER BY 1",
            [schema],
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT i.relname, x.indisvalid, pg_get_indexdef(x.indexrelid, 0, false) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = %s AND t.relname = 'realtime_message' ORDER BY 1",
            [schema],
        )
        indexes = [(name, valid, definition.replace(f"{schema}.", "")) for name, valid, definition in cursor.fetchall()]
    return columns, indexes


def test_a_schema_one_step_behind_gets_the_templates_plan_replayed_as_sql(note_migrations):
    tenant_make("replayed")
    out, _, migrated = migrate_tenants()
    template = template_schema()
    assert set(NOTE_MIGRATIONS) <= recorded(template)
    assert recorded("t_replayed") == recorded(template)
    assert columns_and_indexes("t_replayed") == columns_and_indexes(template)
    assert ("note", "text", "YES") in columns_and_indexes("t_replayed")[0]
    assert any(name == "message_note" and valid for name, valid, _ in columns_and_indexes("t_replayed")[1])
    assert "t_replayed" not in migrated
    assert "1 replayed the template's plan as SQL (realtime.0002_message_note, realtime.0003_message_note_index" in out
    out, _, _ = migrate_tenants()
    assert "1 in sync (skipped)" in out


@pytest.mark.django_db
def test_a_plan_across_unrelated_apps_is_collected_with_every_applied_model_known():
    """The template lacks `lifecycle.0001` (which needs nothing of tenants) and tenants' 0004 on
    (0004 adds fields to Tenant): the SQL of these is collected against a state that knows
    tenants' models, not only what lifecycle.0001 depends on (a KeyError before)."""
    from tenants import migrating

    template = template_schema()
    missing = [("lifecycle", "0001_initial")] + sorted(
        m for m in recorded(template) if m[0] == "tenants" and m[1] >= "0004"
    )
    for app, name in missing:
        execute(f'DELETE FROM "{template}".django_migrations WHERE app = %s AND name = %s', [app, name])
    replay = migrating.replay_prepare(template)
    assert replay.steps is not None, replay.reason
    assert [(step.app, step.name) for step in replay.steps] == missing
    lifecycle, *tenants = replay.steps
    assert any("CREATE TABLE" in sql and "lifecycle_export" in sql for sql in lifecycle.statements)
    assert all(step.statements == [] for step in tenants)  # a shared app's migration: only recorded here
