"""Upload endpoints (tenant hosts, members). Thin: parse, call one service, shape."""

from __future__ import annotations

import functools

from django.conf import settings
from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.settings import api_settings

from common.compat.drf import django_request
from common.errors import ApplicationError
from common.negotiation import DownloadNegotiation
from common.pagination import PagePagination
from common.parsers import JSONParser
from tenants.api_base import TenantApi
from tenants.audit import Actor
from tenants.resolution import request_role, request_tenant

from .models import File
from .pipeline.handlers import LimitedUploadHandler
from .pipeline.image_streaming import image_stream_start
from .pipeline.parsers import UploadMultiPartParser
from .pipeline.storage import presigned_get, storage_is_s3, upload_storage
from .presign import direct_upload_max_bytes, direct_upload_pending, direct_upload_receive, file_confirm, upload_presign
from .selectors import file_get, file_list, upload_rules
from .serializers import (
    ConfirmInputSerializer,
    FileOutputSerializer,
    FilesOutputSerializer,
    ImageOutputSerializer,
    ImageQueuedOutputSerializer,
    PresignInputSerializer,
    PresignOutputSerializer,
)
from .services import file_delete, file_upload, files_upload, image_upload
from .throttling import UploadRateThrottle

THROTTLES = [*api_settings.DEFAULT_THROTTLE_CLASSES, UploadRateThrottle]


@functools.cache  # one component per field name, however many views take it
def _multipart(field: str, many: bool = False):
    return {
        "multipart/form-data": inline_serializer(
            f"Upload_{field}",
            {field: serializers.ListField(child=serializers.FileField()) if many else serializers.FileField()},
        )
    }


UPLOAD_ERRORS = {
    400: "`file_missing`, `file_empty`, `filename_invalid`",
    403: "`storage_quota_exceeded`",
    413: "`file_too_large`",
    415: "`file_type_not_allowed`, `file_type_mismatch`",
    422: "`malware_detected`",
    503: "`scanner_unavailable`",
}


class StreamingUploadApi(TenantApi):
    """Multipart views: the body is streamed through LimitedUploadHandler (the tenant's
    size limit, cut off as it arrives) — set up before anything reads the body."""

    capability = "uploads"  # tenants.access: 403 feature_disabled when switched off
    parser_classes = [UploadMultiPartParser]
    upload_fields: tuple[str, ...] = ("file",)
    max_files = 1

    def initial(self, request, *args, **kwargs):
        tenant = request_tenant(request)
        if tenant is not None:
            rules = upload_rules(tenant)
            http_request = django_request(request)
            http_request.upload_handlers = [
                LimitedUploadHandler(
                    http_request,
                    fields=self.upload_fields,
                    max_bytes=rules.max_bytes,
                    max_files=self.max_files,
                    on_head=self.on_head(rules),
                )
            ]
        super().initial(request, *args, **kwargs)

    def on_head(self, rules):
        """What starts on a file's first bytes (pipeline/handlers.py); nothing by default."""
        return None

    def file_out(self, file) -> dict:
        return FileOutputSerializer(file, context={"request": self.request}).data


class UploadApi(StreamingUploadApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": UPLOAD_ERRORS,
    }
    throttle_classes = THROTTLES

    @extend_schema(request=_multipart("file"), responses={201: FileOutputSerializer}, tags=["uploads"])
    def post(self, request):
        file = file_upload(
            tenant=self.tenant, user=request.user, upload=request.FILES.get("file"), actor=Actor.from_request(request)
        )
        return Response(self.file_out(file), status=status.HTTP_201_CREATED)


class UploadMultipleApi(StreamingUploadApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {**UPLOAD_ERRORS, 400: UPLOAD_ERRORS[400] + ", `too_many_files`, `files_invalid`"},
    }
    throttle_classes = THROTTLES
    upload_fields = ("files",)

    @property
    def max_files(self):
        return settings.UPLOADS["MAX_FILES_PER_REQUEST"]

    @extend_schema(
        request=_multipart("files", many=True),
        responses={201: FilesOutputSerializer},
        tags=["uploads"],
        description="Up to 10 files; if any is refused, none is stored (400 files_invalid names each).",
    )
    def post(self, request):
        files = files_upload(
            tenant=self.tenant,
            user=request.user,
            uploads=request.FILES.getlist("files"),
            actor=Actor.from_request(request),
        )
        return Response({"files": [self.file_out(f) for f in files]}, status=status.HTTP_201_CREATED)


class UploadImageApi(StreamingUploadApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {**UPLOAD_ERRORS, 422: "`malware_detected`, `invalid_image`"},
    }
    throttle_classes = THROTTLES
    upload_fields = ("image",)

    def on_head(self, rules):
        return functools.partial(image_stream_start, allowed=rules.allowed_types)  # decode as it arrives

    @extend_schema(
        request=_multipart("image"),
        responses={201: ImageOutputSerializer, 202: ImageQueuedOutputSerializer},
        tags=["uploads"],
        description="201: processed in the request. 202: an image over IMAGE_INLINE_MAX_PIXELS; the "
        "original is stored and the job `job_id` makes the JPEG (`job.progress`, then "
        "`file.processed` on the uploader's channel).",
    )
    def post(self, request):
        made = image_upload(
            tenant=self.tenant, user=request.user, upload=request.FILES.get("image"), actor=Actor.from_request(request)
        )
        if made.job is not None:
            return Response(
                {"original": self.file_out(made.original), "processed": None, "job_id": made.job.pk},
                status=status.HTTP_202_ACCEPTED,
            )
        return Response(
            {
                "original": self.file_out(made.original),
                "processed": self.file_out(made.processed),
                "width": made.width,
                "height": made.height,
            },
            status=status.HTTP_201_CREATED,
        )


class PresignApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {k: v for k, v in UPLOAD_ERRORS.items() if k in (400, 403, 413, 415)},
    }
    capability = "uploads"
    throttle_classes = THROTTLES
    parser_classes = [JSONParser]

    @extend_schema(
        request=PresignInputSerializer,
        responses=PresignOutputSerializer,
        tags=["uploads"],
        description="POST the file with `fields` to `upload_url` (multipart, field `file` last), "
        "then confirm the `file_key`.",
    )
    def post(self, request):
        data = PresignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        presign = upload_presign(
            tenant=self.tenant,
            user=request.user,
            **data.validated_data,
            direct_url=lambda token: reverse("upload-direct", args=[token], request=request),
        )
        return Response(presign)


class DirectUploadApi(StreamingUploadApi):
    """Local storage's stand-in for S3's presigned POST: the signed URL is the credential."""

    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {
            400: "`file_missing`, `file_empty`",
            403: "`upload_url_invalid`",
            409: "`upload_already_received`",
        },
    }

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=_multipart("file"), responses={204: None}, tags=["uploads"])
    def post(self, request, token):
        pending = direct_upload_pending(tenant=self.tenant, token=token)  # before the body is read
        for handler in django_request(request).upload_handlers:  # the declared size is the limit, as S3's policy
            if isinstance(handler, LimitedUploadHandler):
                handler.max_bytes = direct_upload_max_bytes(tenant=self.tenant, pending=pending)
        direct_upload_receive(pending=pending, fields=request.POST, upload=request.FILES.get("file"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConfirmApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {**UPLOAD_ERRORS, 404: "`upload_not_found`", 409: "`upload_already_confirmed`"},
    }
    capability = "uploads"
    parser_classes = [JSONParser]

    @extend_schema(request=ConfirmInputSerializer, responses={201: FileOutputSerializer}, tags=["uploads"])
    def post(self, request):
        data = ConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        file = file_confirm(
            tenant=self.tenant,
            user=request.user,
            file_key=data.validated_data["file_key"],
            actor=Actor.from_request(request),
        )
        return Response(FileOutputSerializer(file, context={"request": request}).data, status=status.HTTP_201_CREATED)


class FileListApi(TenantApi):
    @extend_schema(
        responses=FileOutputSerializer(many=True),
        tags=["uploads"],
        parameters=[OpenApiParameter("status", enum=File.Status.values)],
        description="The tenant's ready files, newest first (`?status=pending` for the others).",
    )
    def get(self, request):
        file_status = request.query_params.get("status")
        if file_status and file_status not in File.Status.values:  # (a NUL in it was a 500 from PostgreSQL)
            raise ApplicationError(
                code="validation_error",
                message="Invalid input.",
                details={"status": [f"One of {', '.join(File.Status.values)}."]},
            )
        paginator = PagePagination()
        page = paginator.paginate_queryset(file_list(status=file_status), request, view=self)
        return paginator.get_paginated_response(
            FileOutputSerializer(page, many=True, context={"request": request}).data
        )


class FileDetailApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": {404: "`file_not_found`"},
        "delete": {404: "`file_not_found`"},
    }

    @extend_schema(responses=FileOutputSerializer, tags=["uploads"])
    def get(self, request, file_id):
        return Response(FileOutputSerializer(file_get(file_id=file_id), context={"request": request}).data)

    @extend_schema(responses={204: None}, tags=["uploads"], description="The uploader, or an owner/admin.")
    def delete(self, request, file_id):
        file_delete(file=file_get(file_id=file_id), user=request.user, role=request_role(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class FileDownloadApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": {404: "`file_not_found`"},
    }
    content_negotiation_class = DownloadNegotiation  # `Accept: image/png` is not a 406

    @extend_schema(
        responses={
            (200, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description=("The file, as an attachment, with its `mime_type` (sniffed at upload)."),
            ),
            302: OpenApiResponse(description="S3: to a signed URL (header Location)."),
        },
        tags=["uploads"],
        description="S3: a redirect to a signed URL valid 60 s. Local: the file, as an attachment.",
    )
    def get(self, request, file_id):
        file = file_get(file_id=file_id)
        if storage_is_s3():
            return HttpResponseRedirect(
                presigned_get(
                    key=file.key,
                    filename=file.original_name,
                    content_type=file.mime_type,
                    expires_in=settings.UPLOADS["DOWNLOAD_URL_EXPIRES_SECONDS"],
                )
            )
        response = FileResponse(
            upload_storage().open(file.key, "rb"),
            as_attachment=True,
            filename=file.original_name,
            content_type=file.mime_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response
