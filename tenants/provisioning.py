"""Schemas for tenants, without a migrate on the request path.

- The *template* schema (`settings.TENANT_BASE_SCHEMA`) is migrated by every
  `migrate_schemas` run (see the command in tenants/management).
- The *pool* holds a few schemas cloned from the template and not yet given
  to anyone. Creating a tenant claims one with a row lock and renames it:
  a catalog update whose cost does not depend on how many tables a tenant has.
- With the pool empty, the template is cloned in place (django-tenants'
  clone_schema), and the pool is refilled in the background after commit.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.management import call_command
from django.db import ProgrammingError, connection, transaction
from django_tenants.utils import quote_schema_name, schema_exists

from common.compat import django_tenants as tenants_compat

from .models import PooledSchema

logger = logging.getLogger(__name__)

POOL_PREFIX = "pool_"


def template_schema() -> str:
    return settings.TENANT_BASE_SCHEMA


def template_ensure(verbosity: int = 0) -> bool:
    """Create the template schema if needed, bring it to the latest migration,
    and (re)install the clone function. True if any migration was applied."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_schema_name(template_schema())}")
    before = _applied_migrations(template_schema())
    call_command("migrate_schemas", schema_name=template_schema(), interactive=False, verbosity=verbosity)
    connection.set_schema_to_public()
    clone_function_install()
    return _applied_migrations(template_schema()) != before


def _applied_migrations(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"{schema}.django_migrations"])
        if cursor.fetchone()[0] is None:
            return set()
        cursor.execute(f"SELECT app, name FROM {quote_schema_name(schema)}.django_migrations")
        return set(cursor.fetchall())


def clone_function_install() -> None:
    """django-tenants' clone_schema() SQL function, installed once.

    Its CloneSchema.clone_schema() re-creates the function (with a DROP TYPE …
    CASCADE) on every call: clones then slow down from ~0.2 s to seconds on a
    long-lived connection, and concurrent creates wait on each other. So the
    function is installed by every migrate, and clones call it directly.
    """
    tenants_compat.clone_schema_function_create()


def schema_clone(new_schema: str) -> None:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute("SELECT clone_schema(%s, %s, 'DATA')", [template_schema(), new_schema])
        except ProgrammingError:  # the function is missing (a database never migrated by us)
            clone_function_install()
            cursor.execute("SELECT clone_schema(%s, %s, 'DATA')", [template_schema(), new_schema])


def schema_drop(schema_name: str) -> None:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote_schema_name(schema_name)} CASCADE")


def schema_provision(schema_name: str) -> str:
    """Give `schema_name` a ready schema; call inside the creating transaction.

    Returns how: "pool" (claimed a pre-cloned schema) or "clone".
    """
    assert connection.in_atomic_block, "provision inside the tenant's transaction"
    pooled = PooledSchema.objects.select_for_update(skip_locked=True).order_by("created_at").first()
    if pooled is not None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER SCHEMA {quote_schema_name(pooled.schema_name)} RENAME TO {quote_schema_name(schema_name)}"
            )
        pooled.delete()
        return "pool"
    schema_clone(schema_name)
    return "clone"


def pool_fill(size: int | None = None) -> int:
    """Clone schemas until the pool holds `size` (default TENANT_POOL_SIZE)."""
    size = settings.TENANT_POOL_SIZE if size is None else size
    created = 0
    while PooledSchema.objects.count() < size:
        name = f"{POOL_PREFIX}{uuid.uuid4().hex[:20]}"
        with transaction.atomic():
            schema_clone(name)
            PooledSchema.objects.create(schema_name=name)
        created += 1
    return created


def pool_drain() -> int:
    """Drop every pooled schema (they are re-cloned from the new template)."""
    drained = 0
    for pooled in PooledSchema.objects.all():
        with transaction.atomic():
            schema_drop(pooled.schema_name)
            pooled.delete()
        drained += 1
    # Schemas left by an interrupted fill have no row: drop them too.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [POOL_PREFIX + "%"])
        for (name,) in cursor.fetchall():
            schema_drop(name)
    return drained


def pool_refresh(size: int | None = None) -> None:
    """After a migrate: pooled schemas are as old as the template they were
    cloned from, so drop them and clone fresh ones."""
    pool_drain()
    pool_fill(size)


def pool_refill_after_commit() -> None:
    """Top the pool up in the background once the claiming transaction commits."""
    if settings.TENANT_POOL_SIZE <= 0:
        return

    def enqueue():
        from django_q.tasks import async_task

        async_task("tenants.tasks.tenant_pool_fill", task_name="tenant_pool_fill", group="platform")

    transaction.on_commit(enqueue)


def schema_size_bytes(schema_name: str) -> int:
    """Bytes on disk of every table, index and TOAST relation in the schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s AND c.relkind IN ('r', 'm', 'p')
            """,
            [schema_name],
        )
        return int(cursor.fetchone()[0])


def schema_is_present(schema_name: str) -> bool:
    return schema_exists(schema_name)
