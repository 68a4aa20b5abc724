"""Lifecycle endpoints (platform host, /api/tenants/<id>/...): a tenant's exports, its owners only."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.negotiation import DownloadNegotiation
from common.pagination import PagePagination
from tenants.audit import Actor
from tenants.errors import InsufficientRole
from tenants.models import ApiKey, Membership, Tenant
from tenants.selectors import tenant_get_for_member
from uploads.pipeline.storage import presigned_get, storage_is_s3

from .errors import ExportArchiveGone
from .exports import export_file, export_get, export_list, export_request
from .serializers import ExportCreatedSerializer, ExportOutputSerializer

OWNER_ONLY = "`insufficient_role` (owners only), `not_a_member`, `tenant_suspended`"


def tenant_for_owner(request, tenant_id, *, write: bool = False) -> Tenant:
    """The tenant if the caller is its owner (404 tenant_not_found, 403 not_a_member /
    tenant_suspended / insufficient_role). A suspended tenant's owner may still read (tenants.access).
    An API key is never an owner (tenants.api_keys): its service account is refused whatever its role."""
    tenant, role = tenant_get_for_member(tenant_id=tenant_id, user=request.user, write=write)
    if role != Membership.Role.OWNER or ApiKey.objects.filter(user_id=request.user.pk).exists():
        raise InsufficientRole(details={"role": role, "required": [Membership.Role.OWNER.value]})
    return tenant


class ExportsApi(APIView):
    def output(self, tenant, pairs, many: bool = False):
        data = ExportOutputSerializer(pairs, many=True, context={"request": self.request, "tenant": tenant}).data
        return data if many else data[0]


class TenantExportListApi(ExportsApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": {403: OWNER_ONLY},
        "post": {403: OWNER_ONLY, 409: "`export_in_progress` (details.export: the one under way)"},
    }

    @extend_schema(responses=ExportOutputSerializer(many=True), tags=["lifecycle"])
    def get(self, request, tenant_id):
        tenant = tenant_for_owner(request, tenant_id)
        paginator = PagePagination()
        page = paginator.paginate_queryset(export_list(tenant=tenant), request, view=self)
        return paginator.get_paginated_response(self.output(tenant, page, many=True))

    @extend_schema(
        request=None,
        responses={202: ExportCreatedSerializer},
        tags=["lifecycle"],
        description="Owners. Builds one archive of the tenant's tables and files in the background "
        "(`tenant.export`, progress pushed as `job.progress`); docs/lifecycle.md has its format.",
    )
    def post(self, request, tenant_id):
        tenant = tenant_for_owner(request, tenant_id, write=True)
        export, job = export_request(tenant=tenant, user=request.user, actor=Actor.from_request(request))
        body = {"id": str(export.pk), "job_id": job.pk, "status": export.status}
        return Response(ExportCreatedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class TenantExportDetailApi(ExportsApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": {403: OWNER_ONLY, 404: "`export_not_found`"},
    }

    @extend_schema(responses=ExportOutputSerializer, tags=["lifecycle"])
    def get(self, request, tenant_id, export_id):
        tenant = tenant_for_owner(request, tenant_id)
        return Response(self.output(tenant, [export_get(tenant=tenant, export_id=export_id)]))


class TenantExportDownloadApi(ExportsApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": {403: OWNER_ONLY, 404: "`export_not_found`, `export_archive_gone`", 409: "`export_not_ready`"},
    }
    content_negotiation_class = DownloadNegotiation  # `Accept: application/zip` is not a 406

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The archive, as an attachment."
            ),
            302: OpenApiResponse(description="S3: to a signed URL (header Location)."),
        },
        tags=["lifecycle"],
        description="S3: a redirect to a signed URL (UPLOADS_DOWNLOAD_URL_EXPIRES_SECONDS). Local: the archive.",
    )
    def get(self, request, tenant_id, export_id):
        tenant = tenant_for_owner(request, tenant_id)
        export, _ = export_get(tenant=tenant, export_id=export_id)
        key, filename = export_file(tenant=tenant, export=export)
        if storage_is_s3(default_storage):
            return HttpResponseRedirect(
                presigned_get(
                    key=key,
                    filename=filename,
                    content_type="application/zip",
                    expires_in=settings.UPLOADS["DOWNLOAD_URL_EXPIRES_SECONDS"],
                )
            )
        try:
            handle = default_storage.open(key, "rb")
        except FileNotFoundError:  # removed from the disk behind the platform's back
            raise ExportArchiveGone(details={"export_id": str(export.pk)}) from None
        response = FileResponse(handle, as_attachment=True, filename=filename, content_type="application/zip")
        response["X-Content-Type-Options"] = "nosniff"
        return response
