"""Tenant hosts (and requests given a tenant by header or token)."""

from django.urls import include, path

from documents.urls import urlpatterns as documents_api
from documents.views import editor_page
from emails.urls import urlpatterns as emails_api
from imports.urls import urlpatterns as imports_api
from jobs.urls import urlpatterns as jobs_api
from realtime.urls import urlpatterns as realtime_api
from realtime.views import live_page
from reports.urls import urlpatterns as reports_api
from tenants.apis import CurrentTenantApi
from uploads.urls import urlpatterns as uploads_api
from webhooks.urls import urlpatterns as webhooks_api

handler400 = "common.exceptions.handler400"
handler403 = "common.exceptions.handler403"
handler404 = "common.exceptions.handler404"
handler500 = "common.exceptions.handler500"

tenant_api = [
    path("api/tenant", CurrentTenantApi.as_view(), name="tenant-current"),
    *realtime_api,
    *jobs_api,
    *reports_api,
    *imports_api,
    *emails_api,
    *uploads_api,
    *webhooks_api,
    *documents_api,
]

urlpatterns = [
    *tenant_api,
    path("live/", live_page, name="live"),
    path("docs/<uuid:document_id>", editor_page, name="document-editor"),
    path("", include("config.urls_common")),
]
