"""Documents (tenant hosts): list, create, read, change, delete, members, content as JSON, named versions.
The request's tenant schema is active, so another tenant's documents are not found (404).
Editing the content is the WebSocket's (documents.consumers); access rules: documents.selectors."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from common.pagination import PagePagination
from common.serializers import page_representation
from tenants.api_base import TenantApi
from tenants.resolution import request_role

from .selectors import document_get_for_user, document_list_for_user, document_state, version_list
from .serializers import (
    DocumentChangeSerializer,
    DocumentContentSerializer,
    DocumentInputSerializer,
    DocumentMemberInputSerializer,
    DocumentOutputSerializer,
    DocumentVersionInputSerializer,
    DocumentVersionOutputSerializer,
)
from .services import (
    document_change,
    document_create,
    document_delete,
    document_member_add,
    version_create,
    version_restore,
)
from .ydoc import doc_build, doc_json, doc_text

NOT_FOUND = {404: "`document_not_found`"}


class DocumentListApi(TenantApi):
    @extend_schema(responses=DocumentOutputSerializer(many=True), tags=["documents"])
    def get(self, request):
        paginator = PagePagination()
        rows = page_representation(
            paginator, DocumentOutputSerializer, document_list_for_user(user=request.user), request, self
        )
        return paginator.get_paginated_response(rows)

    @extend_schema(request=DocumentInputSerializer, responses={201: DocumentOutputSerializer}, tags=["documents"])
    def post(self, request):
        data = DocumentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = document_create(creator=request.user, **data.validated_data)
        return Response(DocumentOutputSerializer(document).data, status=status.HTTP_201_CREATED)


class DocumentDetailApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": NOT_FOUND,
        "patch": {**NOT_FOUND, 403: "`document_read_only`"},
        "delete": {**NOT_FOUND, 403: "`document_forbidden`"},
    }

    @extend_schema(responses=DocumentOutputSerializer, tags=["documents"])
    def get(self, request, document_id):
        document, _ = document_get_for_user(document_id=document_id, user=request.user)
        return Response(DocumentOutputSerializer(document).data)

    @extend_schema(request=DocumentChangeSerializer, responses=DocumentOutputSerializer, tags=["documents"])
    def patch(self, request, document_id):
        document, access = document_get_for_user(document_id=document_id, user=request.user)
        data = DocumentChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = document_change(document=document, access=access, **data.validated_data)
        return Response(DocumentOutputSerializer(document).data)

    @extend_schema(
        responses={204: None},
        tags=["documents"],
        description="Its creator, or the tenant's owners and admins. The update log goes with it.",
    )
    def delete(self, request, document_id):
        document, _ = document_get_for_user(document_id=document_id, user=request.user)
        document_delete(document=document, tenant=self.tenant, user=request.user, tenant_role=request_role(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentMembersApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {404: "`document_not_found`, `member_not_found`", 403: "`document_forbidden`"},
    }

    @extend_schema(
        request=DocumentMemberInputSerializer,
        responses={201: None},
        tags=["documents"],
        description="Add a tenant member to the document as `editor` or `viewer` (a viewer only reads). "
        "Its creator, or the tenant's owners and admins.",
    )
    def post(self, request, document_id):
        document, _ = document_get_for_user(document_id=document_id, user=request.user)
        data = DocumentMemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document_member_add(
            document=document,
            tenant=self.tenant,
            user=request.user,
            tenant_role=request_role(request),
            **data.validated_data,
        )
        return Response(status=status.HTTP_201_CREATED)


class DocumentContentApi(TenantApi):
    error_codes = {"get": NOT_FOUND}  # beyond every route's codes (common/schema.py: STATUS_TEXT)

    @extend_schema(
        responses=DocumentContentSerializer,
        tags=["documents"],
        description="The document as JSON (every root type), and the text of its Y.Text `content`.",
    )
    def get(self, request, document_id):
        document, _ = document_get_for_user(document_id=document_id, user=request.user)
        return Response(_content(document))


def _content(document) -> dict:
    state, seq = document_state(document_id=document.pk)
    text = doc_text(doc_build(state, ()))
    return {"id": str(document.pk), "seq": seq, "content": doc_json(state), "text": text}


class DocumentVersionsApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": NOT_FOUND,
        "post": {**NOT_FOUND, 403: "`document_read_only`"},
    }

    @extend_schema(
        responses=DocumentVersionOutputSerializer(many=True),
        tags=["documents"],
        description="The document's named versions, newest first (whoever may read the document).",
    )
    def get(self, request, document_id):
        document, _ = document_get_for_user(document_id=document_id, user=request.user)
        paginator = PagePagination()
        rows = page_representation(
            paginator, DocumentVersionOutputSerializer, version_list(document=document), request, self
        )
        return paginator.get_paginated_response(rows)

    @extend_schema(
        request=DocumentVersionInputSerializer,
        responses={201: DocumentVersionOutputSerializer},
        tags=["documents"],
        description="Name the document as it is now (everything stored up to `seq`). Editors only.",
    )
    def post(self, request, document_id):
        document, access = document_get_for_user(document_id=document_id, user=request.user)
        data = DocumentVersionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = version_create(document=document, access=access, user=request.user, **data.validated_data)
        return Response(DocumentVersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)


class DocumentVersionRestoreApi(TenantApi):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {
            404: "`document_not_found`, `version_not_found`",
            403: "`document_read_only`",
            413: "`document_too_large`",
        },
    }

    @extend_schema(
        request=None,
        responses=DocumentContentSerializer,
        tags=["documents"],
        description="Make the document show the version's content again, by a new update (stored, then sent "
        "to open editors like theirs; the log is not rewound). Answers the content after it. Editors only.",
    )
    def post(self, request, document_id, version_id):
        document, access = document_get_for_user(document_id=document_id, user=request.user)
        version_restore(document=document, access=access, version_id=version_id, tenant=self.tenant, user=request.user)
        return Response(_content(document))
