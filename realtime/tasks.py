"""Background work of the realtime app (qcluster). Thin: tenant context, one service."""

from django_tenants.utils import tenant_context

from tenants.models import Tenant

from .services import notification_create


def realtime_notification_send(tenant_id: str, user_id: int, event: str, data: dict) -> int:
    tenant = Tenant.objects.get(pk=tenant_id)
    with tenant_context(tenant):
        return notification_create(user_id=user_id, event=event, data=data).pk
