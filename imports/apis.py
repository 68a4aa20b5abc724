"""POST /api/imports (tenant hosts, owners/admins): a members CSV, imported by a job."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from tenants.api_base import IsTenantManager, TenantApi

from .services import members_import_request


class ImportApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {
            400: "`file_missing`, `csv_header_invalid`, `csv_empty`",
            413: "`file_too_large`, `csv_too_many_rows`",
            415: "`file_type_unsupported`",
        },
    }
    capability = "jobs"  # tenants.access: an import is a job
    parser_classes = [MultiPartParser]
    tenant_permission_classes = [IsTenantManager]

    @extend_schema(
        request={"multipart/form-data": inline_serializer("ImportInput", {"file": serializers.FileField()})},
        responses={202: inline_serializer("ImportCreated", {"job_id": serializers.IntegerField()})},
        tags=["imports"],
        description="A UTF-8 CSV with the header `email,role` (role: member or admin; an address without a "
        "verified account is invited by email). The job's result: {imported, invited, skipped, errors: "
        "[{row, error, code}]}.",
    )
    def post(self, request):
        job = members_import_request(tenant=self.tenant, user=request.user, upload=request.FILES.get("file"))
        return Response({"job_id": job.pk}, status=status.HTTP_202_ACCEPTED)
