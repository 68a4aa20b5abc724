"""The publish API for the rest of the code.

    notify_user(user_id, event, data)
    broadcast_room(room_id, event, data, exclude=connection_id)
    broadcast_tenant(event, data)

Callable from views, services, qcluster workers (anything with the tenant's
schema active on the connection, or an explicit `tenant=`) and from async code
(`await apublish(...)`). Events are validated against their declared schema,
then logged and published *after the current transaction commits*, so a
rolled-back write never leaks an event.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection, transaction

from .eventlog import event_append
from .wire import event_validate


def _tenant_id(tenant) -> str:
    tenant = tenant if tenant is not None else getattr(connection, "tenant", None)
    if tenant is None or getattr(tenant, "pk", None) is None:
        raise RuntimeError("publishing needs a tenant: call it in a tenant's context or pass tenant=")
    return str(tenant.pk)


def publish(channel: str, event: str, data: dict[str, Any], *, tenant=None, exclude: str = "") -> None:
    tenant_id = _tenant_id(tenant)
    data = event_validate(event, data)
    transaction.on_commit(lambda: event_append(tenant_id, channel, event, data, exclude=exclude))


def notify_user(user_id: int, event: str, data: dict[str, Any], *, tenant=None) -> None:
    publish(f"user:{int(user_id)}", event, data, tenant=tenant)


def broadcast_room(room_id: int, event: str, data: dict[str, Any], *, exclude: str = "", tenant=None) -> None:
    publish(f"room:{int(room_id)}", event, data, tenant=tenant, exclude=exclude)


def broadcast_tenant(event: str, data: dict[str, Any], *, tenant=None) -> None:
    publish("tenant", event, data, tenant=tenant)


apublish = sync_to_async(publish)
