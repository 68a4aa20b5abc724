"""The platform host: operator admin and tenant management API."""

from django.contrib import admin
from django.urls import include, path

from accounts import apis as account_apis
from accounts.apis import SignupApi
from jobs.apis import PlatformQueueStatsApi
from lifecycle.urls import urlpatterns as lifecycle_api
from tenants import apis, invitation_apis

handler400 = "common.exceptions.handler400"
handler403 = "common.exceptions.handler403"
handler404 = "common.exceptions.handler404"
handler500 = "common.exceptions.handler500"

platform_api = [
    path("api/auth/signup", SignupApi.as_view(), name="auth-signup"),
    path("api/auth/password-reset", account_apis.PasswordResetApi.as_view(), name="auth-password-reset"),
    path(
        "api/auth/password-reset/confirm",
        account_apis.PasswordResetConfirmApi.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("api/auth/password", account_apis.PasswordChangeApi.as_view(), name="auth-password"),
    path("api/auth/email", account_apis.EmailChangeApi.as_view(), name="auth-email"),
    path("api/auth/verify-email", account_apis.EmailVerifyApi.as_view(), name="auth-verify-email"),
    path("api/auth/verify-email/resend", account_apis.EmailVerifyResendApi.as_view(), name="auth-verify-resend"),
    path("api/tenants", apis.TenantListCreateApi.as_view(), name="tenant-list"),
    path("api/tenants/<uuid:tenant_id>", apis.TenantDetailApi.as_view(), name="tenant-detail"),
    path("api/tenants/<uuid:tenant_id>/restore", apis.TenantRestoreApi.as_view(), name="tenant-restore"),
    path("api/tenants/<uuid:tenant_id>/settings", apis.TenantSettingsApi.as_view(), name="tenant-settings"),
    path("api/tenants/<uuid:tenant_id>/usage", apis.TenantUsageApi.as_view(), name="tenant-usage"),
    path("api/tenants/<uuid:tenant_id>/members", apis.TenantMembersApi.as_view(), name="tenant-members"),
    path(
        "api/tenants/<uuid:tenant_id>/members/<int:user_id>", apis.TenantMemberDetailApi.as_view(), name="tenant-member"
    ),
    path("api/tenants/<uuid:tenant_id>/audit", apis.TenantAuditApi.as_view(), name="tenant-audit"),
    path("api/tenants/<uuid:tenant_id>/api-keys", apis.TenantApiKeysApi.as_view(), name="tenant-api-keys"),
    path(
        "api/tenants/<uuid:tenant_id>/api-keys/<uuid:key_id>",
        apis.TenantApiKeyDetailApi.as_view(),
        name="tenant-api-key",
    ),
    path(
        "api/tenants/<uuid:tenant_id>/invitations",
        invitation_apis.TenantInvitationsApi.as_view(),
        name="tenant-invitations",
    ),
    path(
        "api/tenants/<uuid:tenant_id>/invitations/<uuid:invitation_id>",
        invitation_apis.TenantInvitationDetailApi.as_view(),
        name="tenant-invitation",
    ),
    path(
        "api/tenants/<uuid:tenant_id>/invitations/<uuid:invitation_id>/resend",
        invitation_apis.TenantInvitationResendApi.as_view(),
        name="tenant-invitation-resend",
    ),
    path("api/invitations/<str:token>", invitation_apis.InvitationApi.as_view(), name="invitation"),
    path("api/invitations/<str:token>/accept", invitation_apis.InvitationAcceptApi.as_view(), name="invitation-accept"),
    *lifecycle_api,  # /api/tenants/<id>/exports…
    path("api/queue/stats", PlatformQueueStatsApi.as_view(), name="platform-queue-stats"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    *platform_api,
    path("", include("config.urls_common")),
]
