"""django-tenants' migrate_schemas, plus what keeps provisioning fast.

After migrating public and every tenant, it also migrates the template schema
(django-tenants leaves TENANT_BASE_SCHEMA alone); if that applied anything, the
pool is re-cloned from it, otherwise only topped up. Many tenants are migrated
in parallel (the multiprocessing executor).
"""
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from tenants.models import Tenant
from tenants.provisioning import pool_fill, pool_refresh, template_ensure

PARALLEL_FROM = 20  # tenants; below this, forking costs more than it saves


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        whole_run = not options.get("schema_name") and not options.get("shared") \
            and not options.get("app_label") and not options.get("fake") and not options.get("plan") \
            and not options.get("check_unapplied")
        if whole_run and not options.get("executor") and _tenant_count() >= PARALLEL_FROM:
            options["executor"] = "multiprocessing"
        super().handle(*args, **options)
        if whole_run:
            connection.set_schema_to_public()
            template_changed = template_ensure(verbosity=max(0, options.get("verbosity", 1) - 1))
            if template_changed:
                pool_refresh()  # pooled schemas are as old as the template they came from
            else:
                pool_fill()


def _tenant_count() -> int:
    connection.set_schema_to_public()
    if Tenant._meta.db_table not in connection.introspection.table_names():
        return 0  # the very first migrate
    return Tenant.objects.count()
