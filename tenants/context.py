"""The tenant of async code (WebSocket consumers, SSE streams).

Django's connection is per thread, and async code reaches the database through
a thread pool where another tenant's schema may still be set. So the tenant
travels in a ContextVar (set by the ASGI middleware for the whole connection),
and `tenant_sync_to_async` sets that tenant's schema inside the worker thread
for each call, and puts `public` back afterwards.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar

from channels.db import database_sync_to_async
from django.db import connection

current_tenant: ContextVar = ContextVar("current_tenant", default=None)


def schema_activate(tenant) -> None:
    """Point this thread's connection at `tenant` (None: public), issuing the
    `SET search_path` only if the schema actually changes."""
    target = tenant.schema_name if tenant is not None else "public"
    if connection.schema_name != target:
        if tenant is None:
            connection.set_schema_to_public()
        else:
            connection.set_tenant(tenant)
    elif tenant is not None:
        connection.tenant = tenant  # same schema, fresher object (settings, status)


def _in_tenant(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        tenant = current_tenant.get()  # runs inside the caller's copied context
        if tenant is None:
            connection.set_schema_to_public()
        else:
            connection.set_tenant(tenant)
        try:
            return func(*args, **kwargs)
        finally:
            connection.set_schema_to_public()

    return wrapper


def tenant_sync_to_async(func):
    """Like channels' database_sync_to_async, in the current tenant's schema."""
    return database_sync_to_async(_in_tenant(func))
