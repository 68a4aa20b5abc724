"""Async code reaches the database in the right tenant's schema, always."""

import asyncio

from django.contrib.contenttypes.models import ContentType
from django.db import connection

from tenants.context import current_tenant, tenant_sync_to_async


@tenant_sync_to_async
def current_schema() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


@tenant_sync_to_async
def mark_create(label: str) -> None:
    ContentType.objects.create(app_label="isolation", model=label)


@tenant_sync_to_async
def marks() -> set[str]:
    return set(ContentType.objects.filter(app_label="isolation").values_list("model", flat=True))


async def as_tenant(tenant, calls: int) -> list[str]:
    current_tenant.set(tenant)  # this task's own context
    seen = []
    for i in range(calls):
        seen.append(await current_schema())
        if i == calls // 2:
            await mark_create(f"mark_{tenant.slug}")
        await asyncio.sleep(0)  # let the other tenant's task run in between
    return seen


async def test_interleaved_async_calls_of_two_tenants_never_leak(committed, acme, globex):
    acme_seen, globex_seen = await asyncio.gather(as_tenant(acme, 40), as_tenant(globex, 40))
    assert set(acme_seen) == {"t_acme"} and len(acme_seen) == 40
    assert set(globex_seen) == {"t_globex"} and len(globex_seen) == 40

    current_tenant.set(acme)
    assert await marks() == {"mark_acme"}
    current_tenant.set(globex)
    assert await marks() == {"mark_globex"}


async def test_async_code_without_a_tenant_runs_in_public(committed, acme):
    current_tenant.set(None)
    assert await current_schema() == "public"
