"""django-tenants' migrate_schemas, plus what keeps provisioning and migrations fast.

A whole run (no --schema, app label, --fake, --plan, --check, --prune, --run-syncdb,
--fake-initial) migrates public, then the template schema (django-tenants leaves
TENANT_BASE_SCHEMA alone), then the tenants against the template (tenants/migrating.py):
schemas that record the template's migrations are skipped, schemas one step behind get
the template's plan replayed as SQL, and only the rest go through django-tenants'
executor (multiprocessing when many). --every-schema runs that executor in every
tenant schema, as stock django-tenants does. If the template applied anything, the
pool is re-cloned from it, otherwise only topped up.
"""

from django.conf import settings
from django.db import connection
from django_tenants.management.commands.migrate_schemas import GET_EXECUTOR_FUNCTION, MigrateSchemasCommand
from django_tenants.utils import get_public_schema_name, get_tenant_migration_order, has_multi_type_tenants

from tenants import migrating
from tenants.models import Tenant
from tenants.provisioning import pool_fill, pool_refresh, template_ensure, template_schema

PARALLEL_FROM = 20  # tenants; below this, forking (or a thread per connection) costs more than it saves
NOT_WHOLE = ("schema_name", "shared", "app_label", "fake", "plan", "check_unapplied")
NOT_AGAINST_TEMPLATE = ("prune", "run_syncdb", "fake_initial", "every_schema")


class Command(MigrateSchemasCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--every-schema",
            action="store_true",
            dest="every_schema",
            help="Run Django's migrate in every tenant schema (django-tenants' way), "
            "even in those that record the template's migrations.",
        )

    def handle(self, *args, **options):
        whole_run = not any(options.get(name) for name in NOT_WHOLE)
        if not whole_run:
            super().handle(*args, **options)
            return
        if any(options.get(name) for name in NOT_AGAINST_TEMPLATE) or has_multi_type_tenants():
            if not options.get("executor") and _tenant_count() >= PARALLEL_FROM:
                options["executor"] = "multiprocessing"
            super().handle(*args, **options)
            template_changed = template_ensure(verbosity=max(0, options.get("verbosity", 1) - 1))
        else:
            if not options.get("tenant"):
                super().handle(*args, **{**options, "shared": True, "tenant": False})
            template_changed = self._tenants_against_template(args, options)
        connection.set_schema_to_public()
        if template_changed:
            pool_refresh()  # pooled schemas are as old as the template they came from
        else:
            pool_fill()

    def _tenants_against_template(self, args, options) -> bool:
        """Migrate the template, then bring every tenant schema to it; True if the template changed."""
        verbosity = options.get("verbosity", 1)
        template = template_schema()
        connection.set_schema_to_public()
        before, replay = None, migrating.Replay(None, "the template is new")
        if migrating.digest_readable(template):
            before = migrating.digest(template)
            replay = migrating.replay_prepare(template)
        template_changed = template_ensure(verbosity=max(0, verbosity - 1))
        schemas = _tenant_schemas()
        if migrating.plan_for(template):  # the reference itself is not current: trust nothing
            connection.set_schema_to_public()
            self.stderr.write(
                f"The template schema {template} still has migrations to apply: "
                f"every tenant schema goes through django-tenants' executor."
            )
            self._executor_run(schemas, args, options)
            return template_changed
        connection.set_schema_to_public()
        found = migrating.census(schemas, template, before if replay.steps is not None else None)
        migrating.content_types_copy_all(found.content_types_missing, template)
        for schema, extra in found.unknown.items():
            self.stderr.write(
                f"Schema {schema} records migrations the template does not: {', '.join(extra)}; "
                f"migrated by django-tenants' executor."
            )
        self._executor_run(found.other, args, options)
        retries = 0
        if found.behind:
            retries = migrating.replay_all(found.behind, replay.steps, template, workers=_workers(len(found.behind)))
        if verbosity >= 1:
            self._summary(len(schemas), found, replay, template_changed, retries)
        return template_changed

    def _executor_run(self, schemas: list[str], args, options) -> None:
        if not schemas:
            return
        executor = options.get("executor") or ("multiprocessing" if len(schemas) >= PARALLEL_FROM else None)
        GET_EXECUTOR_FUNCTION(codename=executor)(args, options).run_migrations(tenants=list(schemas))
        connection.set_schema_to_public()

    def _summary(self, total, found, replay, template_changed, retries) -> None:
        parts = [f"{len(found.in_sync)} in sync (skipped)"]
        if found.behind:
            steps = ", ".join(f"{s.app}.{s.name}" for s in replay.steps)
            parts.append(
                f"{len(found.behind)} replayed the template's plan as SQL ({steps}; {retries} lock waits retried)"
            )
        parts.append(f"{len(found.other)} migrated by django-tenants' executor")
        if template_changed and replay.steps is None and found.other:
            parts[-1] += f" (the plan is not replayable: {replay.reason})"
        self.stdout.write(f"Tenant schemas: {total}: " + ", ".join(parts) + ".")


def _tenant_schemas() -> list[str]:
    connection.set_schema_to_public()
    tenants = Tenant.objects.exclude(schema_name=get_public_schema_name()).values_list("schema_name", flat=True)
    order = get_tenant_migration_order()
    return list(tenants.order_by(*order) if order is not None else tenants.order_by("pk"))


def _workers(count: int) -> int:
    return settings.TENANT_MULTIPROCESSING_MAX_PROCESSES if count >= PARALLEL_FROM else 1


def _tenant_count() -> int:
    connection.set_schema_to_public()
    if Tenant._meta.db_table not in connection.introspection.table_names():
        return 0  # the very first migrate
    return Tenant.objects.count()
