"""Job endpoints: tenant hosts (members see their jobs, admins all the tenant's),
and the platform-wide queue stats for operators."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import ApplicationError
from common.pagination import PagePagination
from tenants.api_base import IsTenantManager, TenantApi, is_tenant_manager

from .errors import TaskUnknown
from .models import Job
from .registry import task_get
from .selectors import job_get, job_list, queue_stats, queue_stats_platform
from .serializers import JobInputSerializer, JobOutputSerializer, QueueStatsSerializer
from .services import job_cancel, job_enqueue, job_retry


class JobsApi(TenantApi):
    @property
    def sees_all(self) -> bool:
        return is_tenant_manager(self.request)

    def job(self, job_id: int) -> Job:
        return job_get(tenant=self.tenant, user=self.request.user, sees_all=self.sees_all, job_id=job_id)


class JobListApi(JobsApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {400: "`task_unknown`, `payload_invalid`, `schedule_invalid`"},
    }
    capability = {"POST": "jobs"}  # tenants.access: enqueueing needs the jobs feature, reading does not
    tenant_permission_classes = [IsTenantManager.for_methods("POST")]  # members see their own jobs

    @extend_schema(
        responses=JobOutputSerializer(many=True),
        tags=["jobs"],
        parameters=[OpenApiParameter("state", enum=Job.State.values)],
    )
    def get(self, request):
        state = request.query_params.get("state")
        if state and state not in Job.State.values:
            raise ApplicationError(
                code="validation_error",
                message="Invalid input.",
                details={"state": [f"One of {', '.join(Job.State.values)}."]},
            )
        paginator = PagePagination()
        jobs = job_list(tenant=self.tenant, user=request.user, sees_all=self.sees_all, state=state)
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(JobOutputSerializer(page, many=True).data)

    @extend_schema(
        request=JobInputSerializer,
        responses={202: JobOutputSerializer},
        tags=["jobs"],
        description="Start a task that is open to the API (admins). Same idempotency_key → same job.",
    )
    def post(self, request):
        data = JobInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        spec = task_get(data.validated_data["task"])
        if spec is None or not spec.exposed:
            raise TaskUnknown(details={"task": data.validated_data["task"]})
        job = job_enqueue(self.tenant, **data.validated_data, user=request.user)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobDetailApi(JobsApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": {404: "`job_not_found`"},
    }

    @extend_schema(responses=JobOutputSerializer, tags=["jobs"])
    def get(self, request, job_id):
        return Response(JobOutputSerializer(self.job(job_id)).data)


class JobRetryApi(JobsApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {404: "`job_not_found`", 409: "`job_not_failed`"},
    }
    capability = "jobs"  # a retry queues the job again

    @extend_schema(request=None, responses=JobOutputSerializer, tags=["jobs"], description="failed → queued")
    def post(self, request, job_id):
        return Response(JobOutputSerializer(job_retry(job=self.job(job_id))).data)


class JobCancelApi(JobsApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {404: "`job_not_found`", 409: "`job_not_cancellable`"},
    }

    @extend_schema(
        request=None,
        responses=JobOutputSerializer,
        tags=["jobs"],
        description="queued / scheduled / retrying → cancelled",
    )
    def post(self, request, job_id):
        return Response(JobOutputSerializer(job_cancel(job=self.job(job_id))).data)


class QueueStatsApi(TenantApi):
    @extend_schema(responses=QueueStatsSerializer, tags=["jobs"])
    def get(self, request):
        return Response(queue_stats(tenant=self.tenant))


class PlatformQueueStatsApi(APIView):
    permission_classes = [IsAdminUser]

    # One path, two hosts: the schema documents both answers (the tenant's is QueueStatsApi's).
    @extend_schema(
        tags=["jobs"],
        responses=PolymorphicProxySerializer(
            component_name="QueueStatsOfHost",
            resource_type_field_name=None,
            serializers=[
                QueueStatsSerializer,
                inline_serializer(
                    "PlatformQueueStats",
                    {"total": QueueStatsSerializer(), "tenants": serializers.ListField(child=serializers.DictField())},
                ),
            ],
        ),
        description="Platform host, operators (staff): stats of the whole platform and per tenant. "
        "On a tenant host: the tenant's stats (members).",
    )
    def get(self, request):
        return Response(queue_stats_platform())
