"""Tenant schemas brought to the template's migrations without Django's executor per schema.

django-tenants runs Django's whole `migrate` in every schema: a migration graph, a
project state and catalog introspection per schema (~150 ms each with nothing to
apply). Here the template schema is migrated first, by Django, and is the reference.
Then a few queries (one per chunk of schemas) read what every tenant schema records,
and each schema is sorted:

- in sync: it records exactly the template's migrations → nothing to do (its missing
  content types, if any, are copied from the template: that is all post_migrate
  would do in a tenant schema);
- one step behind: it records exactly what the template recorded before this run →
  the SQL Django generated for the template's plan (collected once, against the
  template before it was migrated) is run in it, with the same django_migrations
  rows and content types. Lock waits are bounded (`LOCK_TIMEOUT_MS`, retried) so a
  schema being served is not queued behind an ALTER; CREATE INDEX CONCURRENTLY runs
  outside a transaction as the migration asks;
- anything else (other migrations missing, migrations the template does not know,
  no django_migrations table): django-tenants' executor migrates it as before.
  Schemas with migrations the template does not know are named in the output.

A plan is replayed only if every operation reduces to SQL and none needs a
pre_migrate hook (RenameModel renames content types in Python); otherwise the
schemas one step behind take django-tenants' path too.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import OperationalError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations import RenameModel, SeparateDatabaseAndState
from django.db.migrations.recorder import MigrationRecorder
from django_tenants.utils import quote_schema_name

CENSUS_CHUNK = 100  # schemas per census query (each locks ~5 relations per schema until it ends)
LOCK_TIMEOUT_MS = 100  # a replayed statement waits this long for a lock, then retries
LOCK_RETRIES = 200
CONCURRENT_DDL = (
    "CREATE INDEX CONCURRENTLY",
    "CREATE UNIQUE INDEX CONCURRENTLY",
    "DROP INDEX CONCURRENTLY",
    "REINDEX INDEX CONCURRENTLY",
    "REINDEX TABLE CONCURRENTLY",
)
LOCK_NOT_AVAILABLE = "55P03"


@dataclass
class Step:
    """One migration of the plan as SQL, with the rows Django records for it."""

    app: str
    name: str
    atomic: bool
    statements: list[str]
    records: list[tuple[str, str]]


@dataclass
class Replay:
    """The template's plan before it was migrated: `steps` if it can be replayed as SQL."""

    steps: list[Step] | None
    reason: str = ""  # why not, when steps is None


@dataclass
class Census:
    """Tenant schemas sorted by what they record against the template."""

    in_sync: list[str] = field(default_factory=list)
    behind: list[str] = field(default_factory=list)  # record exactly the template's former state
    other: list[str] = field(default_factory=list)  # for django-tenants' executor
    unknown: dict[str, list[str]] = field(default_factory=dict)  # schema → migrations the template lacks
    content_types_missing: list[str] = field(default_factory=list)  # in sync, but a content type short


# --- the template ------------------------------------------------------------------


def _executor_for(schema: str) -> MigrationExecutor:
    connection.set_schema(schema, include_public=False)
    MigrationRecorder(connection).ensure_schema()  # the template's own table, not public's
    connection.set_schema(schema)
    return MigrationExecutor(connection)


def plan_for(schema: str) -> list:
    executor = _executor_for(schema)
    return executor.migration_plan(executor.loader.graph.leaf_nodes())


def replay_prepare(template: str) -> Replay:
    """The SQL of the template's plan, collected before the template is migrated (sqlmigrate's way)."""
    executor = _executor_for(template)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    try:
        return _replay_from(executor, plan)
    finally:
        connection.set_schema_to_public()


def _replay_from(executor: MigrationExecutor, plan: list) -> Replay:
    steps, state = [], None
    for migration, backwards in plan:
        if backwards:
            return Replay(None, f"{migration.app_label}.{migration.name} is unapplied")
        reason = _not_replayable(migration)
        if reason:
            return Replay(None, reason)
        with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
            if state is None:  # every migration the template has applied, not only the first step's ancestors
                state = _applied_state(executor)
            state = migration.apply(state, editor, collect_sql=True)
        if any("THIS OPERATION CANNOT BE WRITTEN AS SQL" in sql for sql in editor.collected_sql):
            return Replay(None, f"{migration.app_label}.{migration.name} runs Python")
        statements = [sql for sql in editor.collected_sql if not _comment_only(sql)]
        records = list(migration.replaces) or [(migration.app_label, migration.name)]
        steps.append(Step(migration.app_label, migration.name, migration.atomic, statements, records))
    return Replay(steps)


def _applied_state(executor: MigrationExecutor):
    """The project state of what the template records (what Django's own migrate starts from).
    The state before the plan's first step alone would miss the apps that step does not depend
    on: a plan of `documents.0001` then `tenants.0004` needs tenants' models for the second."""
    loader = executor.loader
    applied = [key for key in loader.applied_migrations if key in loader.graph.nodes]
    return loader.project_state(applied, at_end=True)


def _not_replayable(migration) -> str:
    for operation in _flattened(migration.operations):
        if isinstance(operation, RenameModel):
            return f"{migration.app_label}.{migration.name} renames a model (content types follow in Python)"
        if not migration.atomic and operation.atomic:
            return f"{migration.app_label}.{migration.name} has an atomic operation in a non-atomic migration"
    return ""


def _flattened(operations: Iterable) -> Iterable:
    for operation in operations:
        yield operation
        if isinstance(operation, SeparateDatabaseAndState):
            yield from _flattened(operation.database_operations)


def _comment_only(sql: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("--") for line in sql.splitlines())


# --- what every schema records -----------------------------------------------------


def _migrations_digest(schema: str) -> str:
    q = quote_schema_name(schema)
    return (
        f"(SELECT md5(coalesce(string_agg(app || '.' || name, ',' ORDER BY app COLLATE \"C\", "
        f"name COLLATE \"C\"), '')) FROM {q}.django_migrations)"
    )


def digest_readable(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"{quote_schema_name(schema)}.django_migrations"])
        return cursor.fetchone()[0] is not None


def digest(schema: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_migrations_digest(schema)}")
        return cursor.fetchone()[0]


def _schemas_with_tables(schemas: list[str]) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(%s) AND c.relkind = 'r' AND c.relname IN ('django_migrations', 'django_content_type')
            GROUP BY n.nspname HAVING count(*) = 2
            """,
            [list(schemas)],
        )
        return {name for (name,) in cursor.fetchall()}


def census(schemas: list[str], template: str, before: str | None) -> Census:
    """Sort `schemas` against the template's digest now and `before` this run (None: no replay)."""
    connection.set_schema_to_public()
    result = Census()
    now = digest(template)
    readable = _schemas_with_tables(schemas)
    result.other.extend(s for s in schemas if s not in readable)
    ordered = [s for s in schemas if s in readable]
    tq = quote_schema_name(template)
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), CENSUS_CHUNK):
            chunk = ordered[start : start + CENSUS_CHUNK]
            cursor.execute(
                " UNION ALL ".join(
                    f"SELECT %s, {_migrations_digest(s)}, (SELECT count(*) FROM {tq}.django_content_type t "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {quote_schema_name(s)}.django_content_type c "
                    f"WHERE c.app_label = t.app_label AND c.model = t.model))"
                    for s in chunk
                ),
                chunk,
            )
            for schema, schema_digest, types_missing in cursor.fetchall():
                if schema_digest == now:
                    result.in_sync.append(schema)
                    if types_missing:
                        result.content_types_missing.append(schema)
                elif before is not None and before != now and schema_digest == before:
                    result.behind.append(schema)
                else:
                    result.other.append(schema)
    _name_unknown(result, template)
    return result


def _name_unknown(result: Census, template: str) -> None:
    """For the schemas that match neither digest: the migrations they record and the template does not."""
    tq = quote_schema_name(template)
    with connection.cursor() as cursor:
        for schema in _schemas_with_tables(result.other):
            cursor.execute(
                f"SELECT s.app || '.' || s.name FROM {quote_schema_name(schema)}.django_migrations s "
                f"WHERE NOT EXISTS (SELECT 1 FROM {tq}.django_migrations t WHERE t.app = s.app AND t.name = s.name) "
                f"ORDER BY 1"
            )
            extra = [name for (name,) in cursor.fetchall()]
            if extra:
                result.unknown[schema] = extra


# --- bringing schemas to the template --------------------------------------------------


def content_types_copy(schema: str, template: str) -> None:
    """What post_migrate's create_contenttypes does in a tenant schema: add the missing ones."""
    q, tq = quote_schema_name(schema), quote_schema_name(template)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q}.django_content_type (app_label, model) SELECT t.app_label, t.model "
            f"FROM {tq}.django_content_type t WHERE NOT EXISTS (SELECT 1 FROM {q}.django_content_type c "
            f"WHERE c.app_label = t.app_label AND c.model = t.model) ORDER BY t.id"
        )


def replay(schema: str, steps: list[Step], template: str) -> int:
    """Run the template's plan in `schema` as SQL; returns the lock waits that timed out and were retried."""
    connection.set_schema(schema)
    q, tq = quote_schema_name(schema), quote_schema_name(template)
    retries = 0
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {int(LOCK_TIMEOUT_MS)}")
    for step in steps:
        if step.atomic:
            retries += _with_lock_retries(lambda step=step: _step_atomic(step, q))
        else:
            for sql in step.statements:
                retries += _with_lock_retries(lambda sql=sql: _statement(sql))
            _record(step.records, q)
    with transaction.atomic():
        with connection.cursor() as cursor:  # squashed migrations Django marks applied afterwards
            cursor.execute(
                f"INSERT INTO {q}.django_migrations (app, name, applied) SELECT t.app, t.name, now() "
                f"FROM {tq}.django_migrations t WHERE NOT EXISTS (SELECT 1 FROM {q}.django_migrations s "
                f"WHERE s.app = t.app AND s.name = t.name) ORDER BY t.id"
            )
        content_types_copy(schema, template)
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = DEFAULT")
    return retries


def _step_atomic(step: Step, q: str) -> None:
    with transaction.atomic():
        for sql in step.statements:
            with connection.cursor() as cursor:
                cursor.execute(sql)
        _record(step.records, q)


def _statement(sql: str) -> None:
    concurrent = sql.lstrip().upper().startswith(CONCURRENT_DDL)
    with connection.cursor() as cursor:
        if concurrent:  # it blocks no reader or writer; a timeout would leave an INVALID index behind
            cursor.execute("SET lock_timeout = 0")
        try:
            cursor.execute(sql)
        finally:
            if concurrent:
                cursor.execute(f"SET lock_timeout = {int(LOCK_TIMEOUT_MS)}")


def _record(records: list[tuple[str, str]], q: str) -> None:
    with connection.cursor() as cursor:
        for app, name in records:
            cursor.execute(
                f"INSERT INTO {q}.django_migrations (app, name, applied) VALUES (%s, %s, now())", [app, name]
            )


def _with_lock_retries(run: Callable[[], None]) -> int:
    for attempt in range(LOCK_RETRIES):
        try:
            run()
            return attempt
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE or attempt == LOCK_RETRIES - 1:
                raise
            time.sleep(random.uniform(0.01, 0.05) * min(attempt + 1, 10))
    raise AssertionError("unreachable")


def replay_all(schemas: list[str], steps: list[Step], template: str, workers: int) -> int:
    """replay() in every schema, `workers` connections at a time; returns the lock retries."""
    if workers <= 1 or len(schemas) < 2:
        try:
            return sum(replay(schema, steps, template) for schema in schemas)
        finally:
            connection.set_schema_to_public()

    def run(chunk: list[str]) -> int:
        try:
            return sum(replay(schema, steps, template) for schema in chunk)
        finally:
            connections.close_all()  # this thread's connection

    chunks = [schemas[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(run, chunks))


def content_types_copy_all(schemas: list[str], template: str) -> None:
    try:
        for schema in schemas:
            content_types_copy(schema, template)
    finally:
        connection.set_schema_to_public()
