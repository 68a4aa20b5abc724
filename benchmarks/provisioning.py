"""From request to a tenant that serves its first request.

Times POST /api/tenants (platform host) until the first 200 of GET /api/tenant
on the new tenant's host, over a real uvicorn server started here, for:

  a. pool path   the pool holds schemas at every create (refilled, untimed,
                 between creates): the schema is claimed with ALTER SCHEMA RENAME;
  b. clone path  the pool is empty (TENANT_POOL_SIZE=0): every create clones the
                 template schema (django-tenants clone_schema);
  c. migrate     what stock django-tenants does without a base schema: CREATE
                 SCHEMA + migrate_schemas for it. The platform never does this,
                 so it cannot go through the API: it is timed in-process.

Run (services come from the launcher, data in .data/bench):
  .venv/bin/python -m config.devstack exec --profile bench -- .venv/bin/python benchmarks/provisioning.py
"""

from __future__ import annotations

import argparse
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from _bench import django_setup, machine, manage, require_services, summary, uvicorn_server

PLATFORM_HOST = "localhost"
TARGET_P50_MS, TARGET_P99_MS = 50.0, 150.0


@dataclass
class Timings:
    """Per-create samples in ms: the whole span, its two parts, and a repeat of the GET."""

    total: list[float] = field(default_factory=list)
    post: list[float] = field(default_factory=list)
    first_get: list[float] = field(default_factory=list)
    second_get: list[float] = field(default_factory=list)  # the same GET again: the per-request floor
    retries: int = 0  # GETs on the new host that did not answer 200


# --- the server under test -------------------------------------------------------


@contextmanager
def server(pool_size: int):
    """A uvicorn process serving config.asgi, unthrottled; yields an httpx client."""
    import httpx

    with uvicorn_server({"TENANT_POOL_SIZE": str(pool_size)}, ready_path="/readyz", host=PLATFORM_HOST) as (_, url):
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client


def bearer_token(client, email: str, password: str) -> str:
    """Sign up a fresh user and return its bearer token (signup answers 202 and creates the account)."""
    host = {"Host": PLATFORM_HOST}
    response = client.post("/api/auth/signup", json={"email": email, "password": password}, headers=host)
    assert response.status_code == 202, response.text
    response = client.post("/api/auth/token", json={"email": email, "password": password}, headers=host)
    assert response.status_code in (200, 201), response.text
    return response.json()["token"]


def create_until_served(client, token: str, slug: str, timings: Timings | None) -> None:
    """POST the tenant, then GET /api/tenant on its host until it answers 200 (then once more)."""
    auth = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter()
    response = client.post(
        "/api/tenants", json={"name": f"Bench {slug}", "slug": slug}, headers={**auth, "Host": PLATFORM_HOST}
    )
    created = time.perf_counter()
    if response.status_code != 201:
        raise RuntimeError(f"POST /api/tenants {slug}: {response.status_code} {response.text}")
    tenant_host = {**auth, "Host": f"{slug}.{PLATFORM_HOST}"}
    retries = 0
    while (response := client.get("/api/tenant", headers=tenant_host)).status_code != 200:
        retries += 1
        if time.perf_counter() - created > 10:
            raise RuntimeError(f"{slug} did not serve within 10 s: {response.status_code} {response.text}")
        time.sleep(0.001)
    served = time.perf_counter()
    assert client.get("/api/tenant", headers=tenant_host).status_code == 200
    again = time.perf_counter()
    if timings is not None:
        timings.total.append((served - start) * 1000)
        timings.post.append((created - start) * 1000)
        timings.first_get.append((served - created) * 1000)
        timings.second_get.append((again - served) * 1000)
        timings.retries += retries


# --- the three paths -------------------------------------------------------------


def run_api_path(path: str, n: int, pool_size: int, prefix: str) -> Timings:
    """Paths a and b: `n` timed creates (after one warm-up) through a fresh server."""
    from django.db import connection

    from tenants.models import PooledSchema
    from tenants.provisioning import pool_drain, pool_fill

    use_pool = path == "pool"
    if not use_pool:
        pool_drain()
    timings = Timings()
    with server(pool_size if use_pool else 0) as client:
        token = bearer_token(client, f"{prefix}-{path}@example.com", secrets.token_urlsafe(16))
        for i in range(n + 1):  # i == 0 warms the server up
            if use_pool:
                connection.close()  # see run_schema_steps: a long session slows clones down
                pool_fill(pool_size)  # untimed top-up: the pool is full at every create
            before = PooledSchema.objects.count()
            create_until_served(client, token, f"{prefix}-{path[0]}{i}", timings if i else None)
            claimed = before - PooledSchema.objects.count()
            assert claimed == (1 if use_pool else 0), f"{path} path, create {i}: claimed {claimed} pooled schemas"
    return timings


def run_schema_steps(n: int, prefix: str) -> dict[str, list[float]]:
    """In-process, per schema: the migrate path (c) and, for comparison, the
    schema step of paths a and b alone (no HTTP, no tenant rows)."""
    from django.core.management import call_command
    from django.db import connection

    from tenants.provisioning import schema_clone, schema_drop

    samples: dict[str, list[float]] = {"rename": [], "clone": [], "migrate": []}

    def timed(key: str, func) -> None:
        connection.ensure_connection()  # migrate_schemas closes it: keep connects out of the timing
        start = time.perf_counter()
        func()
        samples[key].append((time.perf_counter() - start) * 1000)

    def sql(statement: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement)

    schema = prefix.replace("-", "_")
    for i in range(n + 1):  # i == 0 warms up (loads migrations)
        # A fresh session per schema, as the server has per request: django-tenants re-creates
        # its clone function at every clone, and clones in one long session get slower and slower.
        connection.close()
        cloned, renamed, migrated = f"{schema}_c{i}", f"{schema}_r{i}", f"{schema}_m{i}"
        timed("clone", lambda cloned=cloned: schema_clone(cloned))
        timed("rename", lambda cloned=cloned, renamed=renamed: sql(f'ALTER SCHEMA "{cloned}" RENAME TO "{renamed}"'))
        timed(
            "migrate",
            lambda migrated=migrated: (
                sql(f'CREATE SCHEMA "{migrated}"'),
                call_command("migrate_schemas", schema_name=migrated, interactive=False, verbosity=0),
            ),
        )
        connection.set_schema_to_public()
        schema_drop(renamed)
        schema_drop(migrated)
        if i == 0:
            for values in samples.values():
                values.clear()
    return samples


# --- reporting -------------------------------------------------------------------


def tenant_table_count() -> int:
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            [settings.TENANT_BASE_SCHEMA],
        )
        return cursor.fetchone()[0]


def report(n: int, pool_size: int, api: dict[str, Timings], steps: dict[str, list[float]]) -> None:
    def row(label: str, samples: list[float], extra: str = "") -> None:
        p50, p99, mean = summary(samples)
        print(f"  {label:<34}{p50:>9.1f}{p99:>9.1f}{mean:>9.1f}{extra}")

    header = f"  {'':<34}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
    print("\nProvisioning: POST /api/tenants -> first 200 of GET /api/tenant on the tenant's host")
    print(f"machine: {machine()}")
    print(f"tenant schema: {tenant_table_count()} tables (template schema, cloned or claimed as is)")
    print(
        f"n = {n} creates per path, after 1 untimed warm-up; one uvicorn worker; pool refilled "
        f"to {pool_size} (untimed) before every pool-path create\n"
    )
    print(header + f"{'POST p50':>10}{'1st GET p50':>13}{'2nd GET p50':>13}")
    for label, key in (("a. pool path (claim, API)", "pool"), ("b. clone path (pool empty, API)", "clone")):
        t = api[key]
        parts = (summary(t.post)[0], summary(t.first_get)[0], summary(t.second_get)[0])
        row(label, t.total, "{:>10.1f}{:>13.1f}{:>13.1f}".format(*parts))
    row("c. CREATE SCHEMA + migrate (*)", steps["migrate"])
    print("  (*) in-process, schema step only: the platform never provisions this way, so it has no API path.")
    retries = {key: t.retries for key, t in api.items() if t.retries}
    print(
        f"  GETs on a new host that did not answer 200: {retries or 'none'}; "
        "2nd GET (not in the total) = the same request again, i.e. the per-request floor\n"
    )
    print("The schema step alone, in-process (no HTTP, no tenant/domain/membership rows):")
    print(header)
    row("ALTER SCHEMA RENAME (pool claim)", steps["rename"])
    row("clone_schema (template)", steps["clone"])
    row("CREATE SCHEMA + migrate_schemas", steps["migrate"])
    p50, p99, _ = summary(api["pool"].total)
    verdict = "met" if p50 <= TARGET_P50_MS and p99 <= TARGET_P99_MS else "NOT met"
    print(
        f"\nTarget: pool path p50 <= {TARGET_P50_MS:.0f} ms and p99 <= {TARGET_P99_MS:.0f} ms: "
        f"{verdict} (p50 {p50:.1f} ms, p99 {p99:.1f} ms)"
    )


def cleanup(prefix: str) -> None:
    """Delete the tenants (and their schemas) this run created. Its two users stay:
    deleting a user from the public schema trips over tenant tables that reference it."""
    from tenants.models import Tenant

    for tenant in Tenant.objects.filter(slug__startswith=prefix):
        tenant.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50, help="timed creates per path (default 50)")
    parser.add_argument("--pool-size", type=int, default=3, help="pool size for the pool path (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the tenants this run creates")
    args = parser.parse_args()
    require_services()

    print("migrate_schemas --noinput ...", flush=True)
    manage("migrate_schemas", "--noinput", "-v", "0")
    django_setup(LOG_LEVEL="WARNING")
    prefix = f"bench{secrets.token_hex(3)}"  # unique per run: slugs, emails and schema names
    try:
        api = {}
        for path in ("pool", "clone"):
            print(f"{path} path: {args.n} creates ...", flush=True)
            api[path] = run_api_path(path, args.n, args.pool_size, prefix)
        print(f"migrate path: {args.n} schemas ...", flush=True)
        steps = run_schema_steps(args.n, prefix)
        report(args.n, args.pool_size, api, steps)
    finally:
        if not args.keep:
            cleanup(prefix)
        from tenants.provisioning import pool_fill

        pool_fill()  # leave the pool as migrate_schemas left it


if __name__ == "__main__":
    main()
