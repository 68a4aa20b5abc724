"""What every tenant-host endpoint builds on (the tenants app's own endpoints are in apis.py):
`TenantApi`, the request's tenant or 400, and `IsTenantManager`, its owners and admins or 403."""

from __future__ import annotations

from collections.abc import Sequence

from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from .errors import InsufficientRole, TenantNotSpecified
from .models import MANAGER_ROLES
from .resolution import request_role, request_tenant


def is_tenant_manager(request) -> bool:
    """Whether the caller is an owner or admin of the request's tenant (what a manager may see)."""
    return request_role(request) in MANAGER_ROLES


class IsTenantManager(BasePermission):
    """An owner or admin of the request's tenant (MANAGER_ROLES); anyone else: 403 `insufficient_role`,
    details {"required": ["owner", "admin"]} (raised here: DRF's own refusal carries no details).

    OPTIONS always passes (DRF's metadata). For a TenantApi's `tenant_permission_classes`: on the
    platform host there is no role, and TenantApi answers 400 `tenant_not_specified` first."""

    methods: frozenset[str] | None = None  # the methods that need a manager; None: all

    @classmethod
    def for_methods(cls, *methods: str) -> type[IsTenantManager]:
        """A manager for these methods only, e.g. `for_methods("POST")`: members read, managers write."""
        return type(f"{cls.__name__}For{''.join(m.title() for m in methods)}", (cls,), {"methods": frozenset(methods)})

    def has_permission(self, request, view) -> bool:
        method = "GET" if request.method == "HEAD" else request.method
        if method == "OPTIONS" or (self.methods is not None and method not in self.methods):
            return True
        if not is_tenant_manager(request):
            raise InsufficientRole(details={"required": [str(role) for role in MANAGER_ROLES]})
        return True


class TenantApi(APIView):
    """An API that exists only inside a tenant: `self.tenant` is the request's tenant.

    Refusals, in this order: authentication and `permission_classes` (401), throttles (429), no
    tenant (400 `tenant_not_specified`), a method the view does not serve (405), then
    `tenant_permission_classes` (403: the caller's role in the tenant). Membership, suspension and
    capabilities were checked before the view, by the tenant middleware (tenants.resolution.tenant_admit).
    Role permissions are not in `permission_classes`: DRF checks those before throttles and before
    the tenant is known, which would change these answers.
    """

    tenant_permission_classes: Sequence[type[BasePermission]] = ()
    tenant_only = True  # the OpenAPI schema documents X-Tenant-ID on it (common/schema.py)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.tenant = request_tenant(request)
        if self.tenant is None:
            raise TenantNotSpecified()
        if self.serves(request.method):  # else dispatch answers 405 next
            self.check_tenant_permissions(request)

    def serves(self, method: str) -> bool:
        method = method.lower()
        return method in self.http_method_names and hasattr(self, method)

    def check_tenant_permissions(self, request) -> None:
        for permission in (permission_class() for permission_class in self.tenant_permission_classes):
            if not permission.has_permission(request, self):
                self.permission_denied(
                    request, message=getattr(permission, "message", None), code=getattr(permission, "code", None)
                )
