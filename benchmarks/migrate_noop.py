"""A no-op `migrate_schemas --tenant` over many tenants.

Makes sure --tenants tenants exist (the missing ones are created in-process with
tenant_create, pool empty, so each clones the template), then times
`manage.py migrate_schemas --tenant --noinput` with nothing to apply, once with
--executor=multiprocessing and once with --executor=standard.

Run (services come from the launcher, data in .data/bench):
  .venv/bin/python -m config.devstack exec --profile bench -- .venv/bin/python benchmarks/migrate_noop.py
"""
from __future__ import annotations

import argparse
import time

from _bench import django_setup, machine, manage, require_services

SLUG_PREFIX = "noop-"
# The launched commands: TENANT_POOL_SIZE=0 so their pool refresh clones nothing.
QUIET_POOL = {"TENANT_POOL_SIZE": "0"}


def tenants_ensure(count: int) -> tuple[int, float]:
    """Create tenants `noop-NNNNN` until `count` tenants exist; returns (created, seconds)."""
    from django.db import connection

    from tenants.models import Tenant
    from tenants.provisioning import pool_drain
    from tenants.services import tenant_create

    missing = count - Tenant.objects.count()
    if missing <= 0:
        return 0, 0.0
    pool_drain()  # every create below takes the clone path
    taken = set(Tenant.objects.filter(slug__startswith=SLUG_PREFIX).values_list("slug", flat=True))
    free = (f"{SLUG_PREFIX}{i:05d}" for i in range(10**5) if f"{SLUG_PREFIX}{i:05d}" not in taken)
    start = time.perf_counter()
    for done, slug in enumerate(free, 1):
        # One session per create: django-tenants re-creates its clone function at every clone,
        # and clones in one long session get slower and slower (~5 s each after 200).
        connection.close()
        tenant_create(slug=slug, name=f"No-op {slug}")
        if done % 100 == 0:
            print(f"  {done}/{missing} created ({time.perf_counter() - start:.0f} s)", flush=True)
        if done == missing:
            break
    return missing, time.perf_counter() - start


def timed_manage(*args: str) -> float:
    """Seconds a `manage.py` subprocess takes, start to exit."""
    start = time.perf_counter()
    manage(*args, env=QUIET_POOL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000, help="tenants to migrate (default 1000)")
    args = parser.parse_args()
    require_services()

    print("migrate_schemas --noinput (bring everything current first) ...", flush=True)
    manage("migrate_schemas", "--noinput", "-v", "0")
    django_setup(LOG_LEVEL="WARNING", **QUIET_POOL)
    from django.conf import settings

    from tenants.models import Tenant

    print(f"ensuring {args.tenants} tenants ...", flush=True)
    created, create_s = tenants_ensure(args.tenants)
    total = Tenant.objects.count()

    startup_s = timed_manage("migrate_schemas", "--help")
    results = {}
    for executor in ("multiprocessing", "standard"):
        print(f"no-op migrate_schemas --tenant --executor={executor} ...", flush=True)
        results[executor] = timed_manage("migrate_schemas", "--tenant", "--noinput", f"--executor={executor}")

    print(f"\nNo-op migrate_schemas --tenant --noinput over {total} tenants")
    print(f"machine: {machine()}")
    if created:
        print(f"created {created} tenants first (clone path, in-process): {create_s:.1f} s, "
              f"{create_s / created * 1000:.0f} ms each")
    else:
        print("no tenants created: enough existed")
    print(f"  {'executor':<44}{'seconds':>9}{'ms/tenant':>11}")
    for executor, seconds in results.items():
        detail = f"{settings.TENANT_MULTIPROCESSING_MAX_PROCESSES} processes, chunks of " \
                 f"{settings.TENANT_MULTIPROCESSING_CHUNKS}" if executor == "multiprocessing" else "1 process"
        label = f"{executor} ({detail})"
        print(f"  {label:<44}{seconds:>9.1f}{seconds / total * 1000:>11.1f}")
    print(f"  Each is one `manage.py` process, start to exit: it includes Python + Django start-up "
          f"({startup_s:.1f} s for `migrate_schemas --help`) and, after the tenants, the template "
          f"migrate and pool refresh the project's command adds (pool size 0 here, so no clones).")

    manage("tenant_pool_fill")  # leave the pool at its configured size for the next run


if __name__ == "__main__":
    main()
