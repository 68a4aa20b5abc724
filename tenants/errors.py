"""Tenancy's codes in the shared vocabulary."""

from common.errors import ApplicationError


class TenantNotSpecified(ApplicationError):
    status, code = 400, "tenant_not_specified"
    message = "This endpoint needs a tenant: use the tenant's host, an X-Tenant-ID header or a tenant token."


class TenantNotFound(ApplicationError):
    status, code, message = 404, "tenant_not_found", "No such tenant."


class TenantMismatch(ApplicationError):
    status, code, message = 400, "tenant_mismatch", "The request names two different tenants."


class NotAMember(ApplicationError):
    status, code, message = 403, "not_a_member", "You are not a member of this tenant."


class TenantSuspended(ApplicationError):
    status, code, message = 403, "tenant_suspended", "This tenant is suspended."


class InsufficientRole(ApplicationError):
    status, code, message = 403, "insufficient_role", "Your role in this tenant does not allow this."


class FeatureDisabled(ApplicationError):
    status, code, message = 403, "feature_disabled", "This feature is switched off for this tenant."


class TenantLimitReached(ApplicationError):
    status, code, message = 403, "tenant_limit_reached", "You own as many tenants as one user may."


class TenantPendingDeletion(ApplicationError):
    status, code, message = 403, "tenant_pending_deletion", "This tenant is scheduled for deletion."


class ConfirmationMismatch(ApplicationError):
    status, code = 400, "confirmation_mismatch"
    message = "To delete the tenant, send its slug as `confirm`."


class TenantNotPendingDeletion(ApplicationError):
    status, code, message = 409, "tenant_not_pending_deletion", "This tenant is not scheduled for deletion."


class TenantPurgeStarted(ApplicationError):
    status, code, message = 409, "tenant_purge_started", "The tenant's purge has begun; it can no longer be restored."
