"""Invitations API (platform host): a tenant's managers invite, list, resend and revoke; whoever
holds an emailed link looks it up and accepts it (tenants/invitations.py)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.pagination import PagePagination
from common.proxies import client_ip

from .audit import Actor
from .invitations import (
    invitation_accept,
    invitation_create,
    invitation_list,
    invitation_lookup,
    invitation_resend,
    invitation_revoke,
)
from .selectors import tenant_get_for_member
from .serializers import (
    InvitationAcceptedOutputSerializer,
    InvitationAcceptInputSerializer,
    InvitationCreateInputSerializer,
    InvitationOutputSerializer,
    InvitationPublicOutputSerializer,
)

LIMIT = "`invitation_limit_reached`: details.limit, details.per (`pending`, or `day`: with retry_after, Retry-After)"
NOT_FOUND = "`invitation_not_found` (none such in this tenant)"
LINK_ERRORS = {
    403: "`tenant_suspended`, `tenant_pending_deletion`",
    404: "`invitation_not_found` (unknown, or replaced by a resend)",
    410: "`invitation_expired`, `invitation_revoked` (also once its inviter may no longer invite), `invitation_used`",
    429: "`rate_limited`: too many look-ups or accepts from this client (details.retry_after, Retry-After)",
}


def _tenant_of(invitation) -> dict:
    return {"id": invitation.tenant.pk, "name": invitation.tenant.name, "slug": invitation.tenant.slug}


class TenantInvitationsApi(APIView):
    """Owners and admins: the tenant's invitations."""

    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "get": {400: "`validation_error` (details.status)"},
        "post": {409: "`already_member`, `invitation_pending` (details.invitation_id)", 429: LIMIT},
    }

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=["pending", "accepted", "revoked", "expired"])],
        responses=InvitationOutputSerializer(many=True),
        tags=["members"],
    )
    def get(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, manager=True)
        queryset = invitation_list(tenant=tenant, status=request.query_params.get("status"))
        paginator = PagePagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(InvitationOutputSerializer(page, many=True).data)

    @extend_schema(
        request=InvitationCreateInputSerializer,
        responses={201: InvitationOutputSerializer},
        tags=["members"],
        description="Emails the address a link (valid INVITATION_TTL_DAYS, once). Admins invite members and "
        "admins, owners any role.",
    )
    def post(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, manager=True, write=True)
        data = InvitationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, _ = invitation_create(tenant=tenant, actor=Actor.from_request(request), **data.validated_data)
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)


class TenantInvitationDetailApi(APIView):
    error_codes = {"delete": {404: NOT_FOUND, 409: "`invitation_not_pending` (details.status)"}}

    @extend_schema(responses={204: None}, tags=["members"], description="Revoke: the link answers 410.")
    def delete(self, request, tenant_id, invitation_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, manager=True, write=True)
        invitation_revoke(tenant=tenant, invitation_id=invitation_id, actor=Actor.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TenantInvitationResendApi(APIView):
    error_codes = {
        "post": {
            404: NOT_FOUND,
            409: "`invitation_not_pending` (accepted or revoked), `already_member`, `invitation_pending` (the "
            "address was invited again since this one expired: details.invitation_id)",
            429: LIMIT,
        }
    }

    @extend_schema(
        request=None,
        responses={202: InvitationOutputSerializer},
        tags=["members"],
        description="A pending or expired invitation is emailed again with a new link and a fresh expiry; "
        "the previous link answers 404 invitation_not_found.",
    )
    def post(self, request, tenant_id, invitation_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, manager=True, write=True)
        invitation, _ = invitation_resend(tenant=tenant, invitation_id=invitation_id, actor=Actor.from_request(request))
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_202_ACCEPTED)


class InvitationApi(APIView):
    """The link's page: anyone holding the token."""

    error_codes = {"get": LINK_ERRORS}
    permission_classes = [AllowAny]

    @extend_schema(responses=InvitationPublicOutputSerializer, tags=["members"])
    def get(self, request, token):
        invitation = invitation_lookup(token=token, ip=client_ip(request))
        out = {"tenant": _tenant_of(invitation), "email": invitation.email, "role": invitation.role}
        out["expires_at"] = invitation.expires_at
        return Response(InvitationPublicOutputSerializer(out).data)


class InvitationAcceptApi(APIView):
    error_codes = {
        "post": {
            **LINK_ERRORS,
            400: "`validation_error` (details.password: required without an account, Django's validators)",
            401: "`sign_in_required`: the address has an account; accept signed in as it",
            403: f"`invitation_email_mismatch`, `email_unverified` (UNVERIFIED_USERS_MAY), {LINK_ERRORS[403]}",
            409: "`already_member`",
        }
    }
    permission_classes = [AllowAny]  # the link may be opened where nobody is signed in

    @extend_schema(
        request=InvitationAcceptInputSerializer,
        responses={200: InvitationAcceptedOutputSerializer},
        tags=["members"],
        description="Signed in as the invited address (a bearer token): joins. Without an account: `password` "
        "makes one (verified: the link proves the address) and the answer carries its bearer token.",
    )
    def post(self, request, token):
        data = InvitationAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership, raw = invitation_accept(
            token=token,
            user=request.user,
            password=data.validated_data.get("password"),
            ip=client_ip(request),
        )
        out = {"tenant": _tenant_of(membership), "role": membership.role, "token": raw}
        return Response(InvitationAcceptedOutputSerializer(out).data)
