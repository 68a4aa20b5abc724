"""Lifecycle's platform-host routes (config/urls_public.py includes them under platform_api)."""

from django.urls import path

from . import apis

urlpatterns = [
    path("api/tenants/<uuid:tenant_id>/exports", apis.TenantExportListApi.as_view(), name="tenant-exports"),
    path(
        "api/tenants/<uuid:tenant_id>/exports/<uuid:export_id>",
        apis.TenantExportDetailApi.as_view(),
        name="tenant-export",
    ),
    path(
        "api/tenants/<uuid:tenant_id>/exports/<uuid:export_id>/download",
        apis.TenantExportDownloadApi.as_view(),
        name="tenant-export-download",
    ),
]
