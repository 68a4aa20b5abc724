"""HTTP tenant middleware: resolve the tenant, admit the caller, set the schema.

Replaces django-tenants' TenantMainMiddleware, which costs three SQL queries
per request: lookups here are cached (tenants.cache). The search_path is
issued at most once per request, and only when the connection's schema
changes: the lookups made before the tenant is known (token, session, user)
are on shared-only tables, which exist in `public` alone and so resolve the
same under any tenant's search_path (TenantSyncRouter never creates them in a
tenant schema).
"""

from __future__ import annotations

from django.conf import settings
from django.urls import Resolver404, resolve

from accounts.authentication import REQUEST_TOKEN_ATTR
from accounts.selectors import token_get_valid
from accounts.tokens import bearer_from_header
from common import counters
from common.errors import ApplicationError, application_error_response

from .access import tenant_access_check, view_capability
from .context import schema_activate
from .errors import TenantNotSpecified
from .resolution import tenant_admit, tenant_resolve
from .selectors import api_requests_key

TENANT_HEADER = "HTTP_X_TENANT_ID"
PROBE_PATHS = ("/healthz", "/readyz")  # load balancers probe by address or any name


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info in PROBE_PATHS:  # every host, a known one or not; no tenant, no credentials
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            schema_activate(None)
            return self.get_response(request)
        try:
            token = self._token(request)
            resolution = tenant_resolve(
                host=request.get_host(),
                header_ref=request.META.get(TENANT_HEADER),
                token_tenant_id=token.tenant_id if token else None,
            )
            tenant = resolution.tenant
            user = token.user if token else request.user
            request.tenant_source = resolution.source
            if tenant is not None:
                request.tenant = tenant
                request.tenant_role = tenant_admit(tenant, user)
            else:
                request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
                self._require_platform_path(request.path_info)
        except ApplicationError as exc:
            return application_error_response(exc)

        schema_activate(tenant)
        if tenant is None:
            return self.get_response(request)
        request.urlconf = settings.ROOT_URLCONF
        response = self.get_response(request)
        if request.path_info.startswith("/api/"):
            self._count_api_request(tenant)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        """The feature the view belongs to, if it is switched off: 403
        feature_disabled before the view runs (and so before a body is read)."""
        tenant = getattr(request, "tenant", None)
        capability = view_capability(view_func, request.method)
        if tenant is None or capability is None:
            return None
        try:
            tenant_access_check(tenant, role=request.tenant_role, capability=capability)
        except ApplicationError as exc:
            return application_error_response(exc)
        return None

    @staticmethod
    def _token(request):
        raw = bearer_from_header(request.META.get("HTTP_AUTHORIZATION"))
        if raw is None:
            return None
        token = token_get_valid(raw)  # raises token_invalid / token_expired / token_revoked
        setattr(request, REQUEST_TOKEN_ATTR, token)
        return token

    @staticmethod
    def _require_platform_path(path: str) -> None:
        """A path that exists only on tenant hosts, asked without a tenant."""
        try:
            resolve(path, urlconf=settings.PUBLIC_SCHEMA_URLCONF)
        except Resolver404:
            try:
                resolve(path, urlconf=settings.ROOT_URLCONF)
            except Resolver404:
                return
            raise TenantNotSpecified(details={"path": path}) from None

    @staticmethod
    def _count_api_request(tenant) -> None:
        counters.count(api_requests_key(tenant.pk), ttl_seconds=3 * 24 * 3600)  # written once a second
