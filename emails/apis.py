"""Email endpoints (tenant hosts): admins send, every member sets their digest."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from tenants.api_base import IsTenantManager, TenantApi

from .selectors import digest_opt_in_get
from .serializers import DigestPreferenceSerializer, EmailInputSerializer, JobAcceptedSerializer
from .services import digest_opt_in_set, email_request


class SendEmailApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {400: "`template_unknown`", 429: "`email_quota_exceeded`"},
    }
    capability = "jobs"  # tenants.access: the email is sent by a job
    tenant_permission_classes = [IsTenantManager]

    @extend_schema(
        request=EmailInputSerializer,
        responses={202: JobAcceptedSerializer},
        tags=["emails"],
        description="Owners/admins. Queues `email.send` (5 attempts with backoff); follow it at /api/jobs/{job_id}.",
    )
    def post(self, request):
        data = EmailInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = email_request(tenant=self.tenant, user=request.user, **data.validated_data)
        return Response({"job_id": job.pk}, status=status.HTTP_202_ACCEPTED)


class DigestPreferenceApi(TenantApi):
    @extend_schema(responses=DigestPreferenceSerializer, tags=["emails"])
    def get(self, request):
        return Response({"opt_in": digest_opt_in_get(tenant=self.tenant, user=request.user)})

    @extend_schema(
        request=DigestPreferenceSerializer,
        responses=DigestPreferenceSerializer,
        tags=["emails"],
        description="Any member: receive this tenant's daily digest (09:00 in its time zone) or not.",
    )
    def put(self, request):
        data = DigestPreferenceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        opt_in = digest_opt_in_set(tenant=self.tenant, user=request.user, opt_in=data.validated_data["opt_in"])
        return Response({"opt_in": opt_in})
