"""Every API route in one urlconf, so /api/schema/ documents both hosts."""

from django.urls import include, path

from config.urls_public import platform_api
from config.urls_tenants import tenant_api

urlpatterns = [*platform_api, *tenant_api, path("", include("config.urls_common"))]
