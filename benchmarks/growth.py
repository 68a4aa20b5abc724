"""How the platform's costs grow with the number of tenants (issue 11, goal 6).

For each size (default 100, 1,000 and 5,000 tenants) a database of its own on the
profile's PostgreSQL (`growth_<n>`, kept between runs: its tenants are made once, fast,
by benchmarks/_tenants_bulk.py) is measured by a child process of this script:

- provisioning   p50/p99 of POST /api/tenants → first 200 of GET /api/tenant on the new
                 host, pool path, 20 creates after a warm-up (benchmarks/provisioning.py's
                 run_api_path; the tenants it makes are deleted afterwards);
- resolution     tenant_resolve(host=…) as the tenant middleware calls it, over 300 random
                 tenant hosts each: in-process cache hit, Redis hit (in-process copy
                 dropped), uncached (Redis entry dropped too: one SQL query);
- no-op migrate  `manage.py migrate_schemas --tenant --noinput`, start to exit;
- catalog        pg_class rows and the database's size on disk;
- memory         RSS of one uvicorn process (config.server's command, WEB_CONCURRENCY=1)
                 after one request, then after an authenticated GET /api/tenant on every tenant.

Prints a table, one column per size. A first run spends most of its time creating tenants
(~40 ms each: ~4-6 min for 5,000 on 2 cores); a repeated run takes ~1-2 min per size.

Run (services come from the launcher, data in .data/h-mig-bench):
  .venv/bin/python -m config.devstack exec --profile h-mig-bench -- .venv/bin/python benchmarks/growth.py
  # --sizes 100,1000 to measure fewer
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from _bench import PYTHON, ROOT, django_setup, machine, manage, percentile, require_services, uvicorn_server

PROVISION_N, RESOLVE_N = 20, 300
PREFIXES = {100: "ga-", 1000: "gb-", 5000: "gc-"}  # distinct per database: Redis is shared


def database_url(size: int) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/growth_{size}"))


def database_ensure(size: int) -> None:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [f"growth_{size}"]).fetchone():
            conn.execute(f"CREATE DATABASE growth_{size}")


# --- the child: one size, one database ------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def resolution_costs(hosts: list[str]) -> dict[str, float]:
    from django.core.cache import caches

    from tenants import cache as tenant_cache
    from tenants.resolution import tenant_resolve

    samples: dict[str, list[float]] = {"local": [], "redis": [], "sql": []}

    def timed(kind: str, host: str) -> None:
        start = time.perf_counter()
        assert tenant_resolve(host=host).tenant is not None
        samples[kind].append((time.perf_counter() - start) * 1000)

    for host in hosts:
        tenant_cache._local.clear()
        caches["platform"].delete(tenant_cache.host_key(host))
        timed("sql", host)
        tenant_cache._local.clear()
        timed("redis", host)
        timed("local", host)
    return {
        f"{kind}_{q}": percentile(values, pct)
        for kind, values in samples.items()
        for q, pct in (("p50", 50), ("p99", 99))
    }


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def memory_after_touching_all(schemas_hosts: list[str]) -> dict[str, float]:
    """One uvicorn process: RSS after one request, then after a GET /api/tenant on every tenant."""
    from datetime import timedelta

    import httpx
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.models import AuthToken
    from accounts.tokens import token_digest, token_generate
    from tenants.models import Membership, Tenant

    user, _ = get_user_model().objects.get_or_create(email="growth@bench.test")
    Membership.objects.bulk_create(
        [Membership(user=user, tenant=t, role=Membership.Role.MEMBER) for t in Tenant.objects.all()],
        ignore_conflicts=True,
    )
    raw = token_generate()
    AuthToken.objects.create(
        user=user, digest=token_digest(raw), prefix=raw[:10], expires_at=timezone.now() + timedelta(hours=1)
    )
    auth = {"Authorization": f"Bearer {raw}"}
    os.environ["WEB_CONCURRENCY"] = "1"  # one process serves every tenant (server_command reads it here)
    with uvicorn_server({}) as (proc, url), httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/api/tenant", headers={**auth, "Host": schemas_hosts[0]}).status_code == 200
        before = rss_kib(proc.pid)
        start = time.perf_counter()
        bad = sum(
            client.get("/api/tenant", headers={**auth, "Host": host}).status_code != 200 for host in schemas_hosts
        )
        touch_s = time.perf_counter() - start
        after = rss_kib(proc.pid)
    return {"rss_first_mib": before / 1024, "rss_all_mib": after / 1024, "touch_s": touch_s, "touch_errors": bad}


def catalog() -> dict[str, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_attribute), "
            "pg_database_size(current_database())"
        )
        classes, attributes, size = cursor.fetchone()
    return {"pg_class": classes, "pg_attribute": attributes, "db_mib": size / 2**20}


def noop_migrate_s() -> float:
    start = time.perf_counter()
    subprocess.run(
        [PYTHON, "manage.py", "migrate_schemas", "--tenant", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "TENANT_POOL_SIZE": "0"},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def child(size: int) -> None:
    import secrets

    from _tenants_bulk import tenants_ensure
    from provisioning import cleanup, run_api_path

    log(f"[{size}] migrate_schemas --noinput ...")
    manage("migrate_schemas", "--noinput", "-v", "0", env={"TENANT_POOL_SIZE": "0"})
    django_setup(LOG_LEVEL="WARNING", TENANT_POOL_SIZE="0")
    from tenants.models import Domain, Tenant

    log(f"[{size}] ensuring {size} tenants ...")
    created, create_s = tenants_ensure(size, PREFIXES[size], progress_every=500)
    result: dict[str, float] = {"tenants": Tenant.objects.count(), "created": created, "create_s": create_s}
    hosts = list(Domain.objects.filter(is_primary=True).values_list("domain", flat=True))
    log(f"[{size}] resolution ...")
    result.update(resolution_costs(random.Random(size).sample(hosts, min(RESOLVE_N, len(hosts)))))
    log(f"[{size}] no-op migrate ...")
    result["migrate_s"] = noop_migrate_s()
    result.update(catalog())
    log(f"[{size}] memory: touching {len(hosts)} tenants ...")
    result.update(memory_after_touching_all(hosts))
    log(f"[{size}] provisioning: {PROVISION_N} creates ...")
    prefix = f"gp{secrets.token_hex(3)}"
    try:
        timings = run_api_path("pool", PROVISION_N, 3, prefix)
    finally:
        cleanup(prefix)
    result.update(provision_p50=percentile(timings.total, 50), provision_p99=percentile(timings.total, 99))
    print(json.dumps(result), flush=True)


# --- the parent: one child per size, then the table ----------------------------------------

ROWS = [
    ("provisioning p50 / p99 (ms)", lambda r: f"{r['provision_p50']:.0f} / {r['provision_p99']:.0f}"),
    ("resolution, in-process hit p50 (µs)", lambda r: f"{r['local_p50'] * 1000:.0f}"),
    ("resolution, Redis hit p50 / p99 (ms)", lambda r: f"{r['redis_p50']:.2f} / {r['redis_p99']:.2f}"),
    ("resolution, uncached p50 / p99 (ms)", lambda r: f"{r['sql_p50']:.2f} / {r['sql_p99']:.2f}"),
    ("no-op migrate_schemas --tenant (s)", lambda r: f"{r['migrate_s']:.1f}"),
    ("pg_class rows", lambda r: f"{r['pg_class']:,.0f}"),
    ("pg_attribute rows", lambda r: f"{r['pg_attribute']:,.0f}"),
    ("database size (MiB)", lambda r: f"{r['db_mib']:,.0f}"),
    ("server RSS after 1 request (MiB)", lambda r: f"{r['rss_first_mib']:.0f}"),
    ("server RSS after touching all (MiB)", lambda r: f"{r['rss_all_mib']:.0f}"),
    ("  (touching all: s, non-200)", lambda r: f"{r['touch_s']:.1f}, {r['touch_errors']}"),
    (
        "tenants created this run (ms each)",
        lambda r: f"{r['created']:.0f} ({r['create_s'] / r['created'] * 1000:.0f})" if r["created"] else "0",
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="tenant counts (default 100,1000,5000)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    require_services()
    if args.child:
        child(args.child)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    unknown = [s for s in sizes if s not in PREFIXES]
    if unknown:
        sys.exit(f"sizes must be among {sorted(PREFIXES)}")
    results, spent = {}, {}
    for size in sizes:
        database_ensure(size)
        start = time.perf_counter()
        done = subprocess.run(
            [PYTHON, __file__, "--child", str(size)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "DATABASE_URL": database_url(size)},
        )
        results[size] = json.loads(done.stdout.strip().splitlines()[-1])
        spent[size] = time.perf_counter() - start
    django_setup(LOG_LEVEL="WARNING")
    print(f"\nHow it grows: one database per size, {time.strftime('%Y-%m-%d')}")
    print(f"machine: {machine()}")
    print(f"  {'':<40}" + "".join(f"{results[s]['tenants']:>14,.0f}" for s in sizes) + "  tenants")
    for label, cell in ROWS:
        print(f"  {label:<40}" + "".join(f"{cell(results[s]):>14}" for s in sizes))
    print("  seconds this size took (child process)" + "".join(f"{spent[s]:>14.0f}" for s in sizes))


if __name__ == "__main__":
    main()
