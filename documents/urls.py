from django.urls import path

from . import apis

urlpatterns = [
    path("api/docs", apis.DocumentListApi.as_view(), name="document-list"),
    path("api/docs/<uuid:document_id>", apis.DocumentDetailApi.as_view(), name="document-detail"),
    path("api/docs/<uuid:document_id>/members", apis.DocumentMembersApi.as_view(), name="document-members"),
    path("api/docs/<uuid:document_id>/content", apis.DocumentContentApi.as_view(), name="document-content"),
    path("api/docs/<uuid:document_id>/versions", apis.DocumentVersionsApi.as_view(), name="document-versions"),
    path(
        "api/docs/<uuid:document_id>/versions/<uuid:version_id>/restore",
        apis.DocumentVersionRestoreApi.as_view(),
        name="document-version-restore",
    ),
]
