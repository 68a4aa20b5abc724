"""Tenant management API (platform host) and the current tenant (tenant hosts)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import AuthToken
from accounts.serializers import (
    PasswordConfirmInputSerializer,
    TokenInputSerializer,
    TokenOutputSerializer,
    UserOutputSerializer,
)
from accounts.services import token_issue, token_revoke
from common.compat.drf import django_request
from common.errors import ApplicationError
from common.pagination import PagePagination

from .account_deletion import user_delete_self
from .api_keys import api_key_create, api_key_list, api_key_revoke
from .audit import Actor
from .errors import TenantNotSpecified
from .invitations import member_add_or_invite
from .models import Invitation
from .resolution import request_role, request_tenant
from .selectors import (
    audit_list,
    membership_list,
    tenant_get_by_ref,
    tenant_get_for_member,
    tenant_list_for_user,
    tenant_usage,
)
from .serializers import (
    ApiKeyCreatedOutputSerializer,
    ApiKeyCreateInputSerializer,
    ApiKeyOutputSerializer,
    AuditEventOutputSerializer,
    InvitationOutputSerializer,
    MemberAddInputSerializer,
    MemberOutputSerializer,
    MemberRoleInputSerializer,
    TenantCreateInputSerializer,
    TenantOutputSerializer,
    TenantWithRoleOutputSerializer,
    UsageOutputSerializer,
)
from .services import (
    membership_remove,
    membership_role_change,
    tenant_create_by_user,
    tenant_deletion_cancel,
    tenant_deletion_request,
    tenant_settings_update,
    tenant_token_issue,
)
from .settings_schema import TenantSettingsSerializer, settings_effective


def _paginate(view: APIView, queryset, serializer_class):
    paginator = PagePagination()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class TenantListCreateApi(APIView):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {
            400: "`slug_reserved`",
            403: "`tenant_limit_reached`, `email_unverified` (settings.UNVERIFIED_USERS_MAY)",
            409: "`slug_taken`",
        },
    }

    @extend_schema(responses=TenantWithRoleOutputSerializer(many=True), tags=["tenants"])
    def get(self, request):
        tenants = tenant_list_for_user(user=request.user)
        paginator = PagePagination()
        page = paginator.paginate_queryset(tenants, request, view=self)
        roles = dict(request.user.memberships.filter(tenant__in=page).values_list("tenant_id", "role"))
        for tenant in page:
            tenant.role = roles.get(tenant.pk)
        return paginator.get_paginated_response(TenantWithRoleOutputSerializer(page, many=True).data)

    @extend_schema(request=TenantCreateInputSerializer, responses={201: TenantOutputSerializer}, tags=["tenants"])
    def post(self, request):
        data = TenantCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = tenant_create_by_user(**data.validated_data, owner=request.user, actor=Actor.from_request(request))
        return Response(TenantOutputSerializer(tenant).data, status=status.HTTP_201_CREATED)


class TenantDeleteInputSerializer(serializers.Serializer):
    confirm = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, max_length=100)


class TenantDeletionOutputSerializer(serializers.Serializer):
    status = serializers.CharField()
    deletion_due_at = serializers.DateTimeField()


class TenantDetailApi(APIView):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "delete": {
            400: "`confirmation_mismatch`: `confirm` is not the tenant's slug",
            403: "`insufficient_role`: owners only",
        },
    }

    @extend_schema(responses=TenantOutputSerializer, tags=["tenants"])
    def get(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, lifecycle=True)
        return Response(TenantOutputSerializer(tenant).data)

    @extend_schema(
        request=TenantDeleteInputSerializer,
        responses={202: TenantDeletionOutputSerializer},
        tags=["tenants"],
        description="Owners. Schedules the tenant's deletion: it is `pending_deletion` (nothing is served in it: "
        "403 tenant_pending_deletion) until `deletion_due_at` (TENANT_DELETION_GRACE_DAYS), restorable until "
        "then, and purged after (docs/lifecycle.md).",
    )
    def delete(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, write=True)
        data = TenantDeleteInputSerializer(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        tenant = tenant_deletion_request(
            tenant=tenant, actor=Actor.from_request(request), confirm=data.validated_data.get("confirm")
        )
        body = {"status": tenant.status, "deletion_due_at": tenant.deletion_due_at}
        return Response(TenantDeletionOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class TenantRestoreApi(APIView):
    """POST /api/tenants/{id}/restore — cancel a scheduled deletion (owners, within the grace period)."""

    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {
            403: "`insufficient_role`: owners only",
            409: "`tenant_not_pending_deletion`, `tenant_purge_started`",
        },
    }

    @extend_schema(request=None, responses=TenantOutputSerializer, tags=["tenants"])
    def post(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, write=True, lifecycle=True)
        tenant = tenant_deletion_cancel(tenant=tenant, actor=Actor.from_request(request))
        return Response(TenantOutputSerializer(tenant).data)


class TenantSettingsApi(APIView):
    @extend_schema(responses=TenantSettingsSerializer, tags=["tenants"])
    def get(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user)
        return Response(settings_effective(tenant.settings))

    @extend_schema(
        request=TenantSettingsSerializer,
        responses=TenantSettingsSerializer,
        tags=["tenants"],
        description="Owners and admins. Keys not sent keep their value; unknown keys are refused.",
    )
    def put(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, manager=True, write=True)
        effective = tenant_settings_update(tenant=tenant, data=request.data, actor=Actor.from_request(request))
        return Response(effective)

    patch = put


class TenantUsageApi(APIView):
    @extend_schema(responses=UsageOutputSerializer, tags=["tenants"])
    def get(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user)
        return Response(UsageOutputSerializer(tenant_usage(tenant=tenant)).data)


class TenantMembersApi(APIView):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {
            404: "`user_not_found` (an API key's service account)",
            409: "`already_member`, `invitation_pending` (details.invitation_id)",
            429: "`invitation_limit_reached` (an invitation was due: details.limit, details.per)",
        },
    }

    @extend_schema(responses=MemberOutputSerializer(many=True), tags=["members"])
    def get(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user)
        return _paginate(self, membership_list(tenant=tenant), MemberOutputSerializer)

    @extend_schema(
        request=MemberAddInputSerializer,
        responses={201: MemberOutputSerializer, 202: InvitationOutputSerializer},
        tags=["members"],
        description="A verified account is added (201). An address without an account, or whose account has "
        "not confirmed it, is invited instead (202, the invitation: POST /api/tenants/{id}/invitations).",
    )
    def post(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, manager=True, write=True)
        data = MemberAddInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        added = member_add_or_invite(tenant=tenant, actor=Actor.from_request(request), **data.validated_data)
        if isinstance(added, Invitation):
            return Response(InvitationOutputSerializer(added).data, status=status.HTTP_202_ACCEPTED)
        return Response(MemberOutputSerializer(added).data, status=status.HTTP_201_CREATED)


class TenantMemberDetailApi(APIView):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "patch": {404: "`member_not_found`", 409: "`last_owner`"},
        "delete": {404: "`member_not_found`", 409: "`last_owner`"},
    }

    @extend_schema(request=MemberRoleInputSerializer, responses=MemberOutputSerializer, tags=["members"])
    def patch(self, request, tenant_id, user_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, manager=True, write=True)
        data = MemberRoleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_role_change(
            tenant=tenant, user_id=user_id, actor=Actor.from_request(request), **data.validated_data
        )
        return Response(MemberOutputSerializer(membership).data)

    @extend_schema(
        responses={204: None},
        tags=["members"],
        description="Owners/admins remove members; any member may remove themselves (leave).",
    )
    def delete(self, request, tenant_id, user_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, write=True)
        membership_remove(tenant=tenant, user_id=user_id, actor=Actor.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TenantAuditApi(APIView):
    @extend_schema(responses=AuditEventOutputSerializer(many=True), tags=["tenants"])
    def get(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, manager=True)
        return _paginate(self, audit_list(tenant=tenant), AuditEventOutputSerializer)


class MeApi(APIView):
    error_codes = {
        "delete": {
            400: "`wrong_password`",
            409: "`last_owner`: the only owner of these tenants (details.tenants)",
            429: "`rate_limited`: too many wrong passwords (the login limits)",
        },
    }

    @extend_schema(
        request=PasswordConfirmInputSerializer,
        responses={204: None},
        tags=["auth"],
        description="Deletes the account and its memberships (the password confirms). Tenant data the user "
        "wrote stays, its author shown as deleted (docs/accounts.md).",
    )
    def delete(self, request):
        data = PasswordConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_delete_self(user=request.user, password=data.validated_data["password"], request=django_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=["auth"],
        parameters=[OpenApiParameter("X-Tenant-ID", str, OpenApiParameter.HEADER, required=False)],
        responses=inline_serializer(
            "Me",
            {
                "user": UserOutputSerializer(),
                "tenants": serializers.ListField(child=serializers.DictField(), required=False),
                "tenant": serializers.DictField(required=False),
                "role": serializers.CharField(required=False),
            },
        ),
        description="On the platform host: the user and their tenants. In a tenant: the user, "
        "the tenant and the user's role in it.",
    )
    def get(self, request):
        user = UserOutputSerializer(request.user).data
        tenant = request_tenant(request)
        if tenant is None:
            tenants = [
                {"id": str(m.tenant_id), "slug": m.tenant.slug, "role": m.role}
                for m in request.user.memberships.select_related("tenant").order_by("tenant__slug")
            ]
            return Response({"user": user, "tenants": tenants})
        return Response(
            {
                "user": user,
                "tenant": {"id": str(tenant.pk), "slug": tenant.slug, "name": tenant.name},
                "role": request_role(request),
            }
        )


class CurrentTenantApi(APIView):
    """GET /api/tenant — the tenant this request is in (tenant hosts only)."""

    tenant_only = True

    @extend_schema(responses=TenantWithRoleOutputSerializer, tags=["tenants"])
    def get(self, request):
        tenant = request_tenant(request)
        if tenant is None:
            raise TenantNotSpecified()
        tenant.role = request_role(request)
        return Response(TenantWithRoleOutputSerializer(tenant, context={"domains_cached": True}).data)


# Here, not in accounts: binding a token to a tenant needs the tenancy rules (accounts sits below tenants).
class TokenApi(APIView):
    """Sign in for a bearer token; with `tenant`, the token opens that tenant only. DELETE
    revokes the token the request carries (and closes the live connections it opened)."""

    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {
            401: "`invalid_credentials`",
            403: "`not_a_member`, `tenant_suspended` (a token bound to `tenant`)",
            429: "`rate_limited`: too many failed logins for this account or from this "
            "client, on all hosts together (details.retry_after, header Retry-After)",
        },
    }

    permission_classes = [AllowAny]  # credential limits: accounts/credential_limits.py

    def get_permissions(self):
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(request=TokenInputSerializer, responses={200: TokenOutputSerializer}, tags=["auth"])
    def post(self, request):
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant_ref = data.validated_data.pop("tenant", None)
        if tenant_ref:
            tenant = tenant_get_by_ref(tenant_ref)
            token, raw = tenant_token_issue(**data.validated_data, tenant=tenant, request=request)
        else:
            token, raw = token_issue(**data.validated_data, request=request)
        return Response(TokenOutputSerializer({"token": raw, "expires_at": token.expires_at}).data)

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def delete(self, request):
        if not isinstance(request.auth, AuthToken):
            raise ApplicationError("Only a bearer token can be revoked here.", code="not_a_token_request")
        token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TenantApiKeysApi(APIView):
    """A tenant's API keys (tenants/api_keys.py): owners and admins list and mint them."""

    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "post": {409: "`api_key_limit_reached` (details.limit: settings.TENANT_API_KEYS_MAX live keys)"},
    }

    @extend_schema(responses=ApiKeyOutputSerializer(many=True), tags=["api-keys"])
    def get(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, manager=True)
        return _paginate(self, api_key_list(tenant=tenant), ApiKeyOutputSerializer)

    @extend_schema(
        request=ApiKeyCreateInputSerializer,
        responses={201: ApiKeyCreatedOutputSerializer},
        tags=["api-keys"],
        description="The key (`sk_…`) is in this response only. It opens this tenant only, as a service "
        "account with `role` (member or admin); `expires_at` in the past is 400 validation_error.",
    )
    def post(self, request, tenant_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, manager=True, write=True)
        data = ApiKeyCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, raw = api_key_create(tenant=tenant, actor=Actor.from_request(request), **data.validated_data)
        out = {"id": key.pk, "name": key.name, "prefix": key.prefix, "role": data.validated_data["role"]}
        out.update(expires_at=key.expires_at, key=raw)
        return Response(ApiKeyCreatedOutputSerializer(out).data, status=status.HTTP_201_CREATED)


class TenantApiKeyDetailApi(APIView):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        "delete": {404: "`api_key_not_found` (none such live in this tenant)"},
    }

    @extend_schema(
        responses={204: None},
        tags=["api-keys"],
        description="Revoke: the key answers 401 token_revoked on every process within a second, "
        "and the live connections it opened close.",
    )
    def delete(self, request, tenant_id, key_id):
        tenant, _ = tenant_get_for_member(tenant_id=tenant_id, user=request.user, manager=True, write=True)
        api_key_revoke(tenant=tenant, key_id=key_id, actor=Actor.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
