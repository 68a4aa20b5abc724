"""The HTTP API: Django REST framework and the OpenAPI schema (drf-spectacular)."""

from __future__ import annotations

from config.env import env

from .security import NUM_PROXIES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "accounts.authentication.SessionAuthentication",  # DRF's, CSRF refusals as 403 csrf_failed
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "common.renderers.JSONRenderer",  # orjson
        "common.renderers.BrowsableAPIRenderer",  # HTML for browsers, except errors: always JSON
    ],
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.JSONParser",  # bad JSON of any depth: 400 malformed_request
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "common.schema.PlatformAutoSchema",  # pagination, errors, bearer auth
    "EXCEPTION_HANDLER": "common.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "tenants.throttling.RequestRateThrottle",  # user + tenant (or anonymous) windows, one round trip
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("THROTTLE_USER_RATE", default="1200/min"),
        "anon": env("THROTTLE_ANON_RATE", default="300/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": NUM_PROXIES,  # DRF's own get_ident: the same trusted-proxy rule as common/proxies.py
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SaaS platform API",
    "DESCRIPTION": "Multi-tenant platform: tenants, members, realtime, uploads, jobs. "
    'Errors are always {"error": {"code", "message", "details"}}.',
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_URLCONF": "config.urls_schema",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # the docs work offline: assets from drf-spectacular-sidecar
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"TenantStatusEnum": "tenants.models.Tenant.Status"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.schema.document_event_stream",
    ],  # GET /api/events (SSE)
}
