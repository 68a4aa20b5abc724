"""Report endpoints (tenant hosts): admins ask for reports and see all of the
tenant's; a member sees the reports they asked for."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from common.negotiation import DownloadNegotiation
from common.pagination import PagePagination
from tenants.api_base import IsTenantManager, TenantApi, is_tenant_manager

from .models import Report
from .selectors import report_file_open, report_get, report_list, reports_with_jobs
from .serializers import ReportCreatedSerializer, ReportInputSerializer, ReportOutputSerializer
from .services import report_request


class ReportsApi(TenantApi):
    @property
    def sees_all(self) -> bool:
        return is_tenant_manager(self.request)

    def report(self, report_id) -> Report:
        return report_get(user=self.request.user, sees_all=self.sees_all, report_id=report_id)

    def output(self, reports):
        return ReportOutputSerializer(reports_with_jobs(reports), many=True, context={"request": self.request}).data


class ReportListApi(ReportsApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {400: "`report_kind_unknown`, `report_params_invalid`"},
    }
    capability = {"POST": "jobs"}  # tenants.access: a report is built by a job
    tenant_permission_classes = [IsTenantManager.for_methods("POST")]  # members list their own

    @extend_schema(responses=ReportOutputSerializer(many=True), tags=["reports"])
    def get(self, request):
        paginator = PagePagination()
        page = paginator.paginate_queryset(report_list(user=request.user, sees_all=self.sees_all), request, view=self)
        return paginator.get_paginated_response(self.output(page))

    @extend_schema(
        request=ReportInputSerializer,
        responses={202: ReportCreatedSerializer},
        tags=["reports"],
        description="Owners/admins. Builds the CSV in the background (`report.generate`, "
        "progress pushed as `job.progress`).",
    )
    def post(self, request):
        data = ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report, job = report_request(tenant=self.tenant, user=request.user, **data.validated_data)
        return Response({"job_id": job.pk, "report_id": str(report.pk)}, status=status.HTTP_202_ACCEPTED)


class ReportDetailApi(ReportsApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": {404: "`report_not_found`"},
    }

    @extend_schema(responses=ReportOutputSerializer, tags=["reports"])
    def get(self, request, report_id):
        return Response(self.output([self.report(report_id)])[0])


class ReportDownloadApi(ReportsApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": {404: "`report_not_found`", 409: "`report_not_ready`"},
    }
    content_negotiation_class = DownloadNegotiation  # `Accept: text/csv` is not a 406

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY)},
        tags=["reports"],
        description="The CSV, as an attachment; 409 report_not_ready before it is built.",
    )
    def get(self, request, report_id):
        report = self.report(report_id)
        handle, filename = report_file_open(tenant=self.tenant, report=report)
        return FileResponse(handle, as_attachment=True, filename=filename, content_type="text/csv; charset=utf-8")
