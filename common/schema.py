"""The OpenAPI schema, made to tell the truth about what the API answers.

drf-spectacular reads most of it from the views. Three things it cannot see,
added here in one place (DEFAULT_SCHEMA_CLASS) rather than in every view:

- Pagination. The list views are APIViews that call a paginator by hand, so
  spectacular documents a bare array. Here a list response of an APIView (a
  `many=True` serializer) is paginated by the view's `pagination_class`, else by
  DEFAULT_PAGINATION_CLASS — the rule the list views follow.
- Errors. Every 4xx/5xx is `Error` ({"error": {code, message, details}}); each
  operation documents the statuses it can answer: those every request can meet
  (malformed input, unknown tenant, rate limits, overload), those of
  authentication, of request bodies, and the view's own (its `error_codes` attribute).
- Bearer tokens (`Authorization: Bearer <token>`) and the session cookie, as security
  schemes; the X-Tenant-ID header on the tenant hosts' operations.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.settings import api_settings

from .compat.drf_spectacular import AutoSchemaBase

BODY_METHODS = {"POST", "PUT", "PATCH"}

# What each status means on every route, with the codes it carries there.
STATUS_TEXT = {
    400: "Bad request: `malformed_request`, `validation_error` (details name the fields), "
    "`tenant_not_specified`, `tenant_mismatch`.",
    401: "Not authenticated: `not_authenticated`, `authentication_failed`, `token_invalid`, "
    "`token_expired`, `token_revoked`.",
    403: "Forbidden: `permission_denied`, `not_a_member`, `insufficient_role`, `tenant_suspended`, "
    "`tenant_pending_deletion`, `feature_disabled`.",
    404: "Not found: `not_found`, `tenant_not_found` (unknown tenant host or X-Tenant-ID).",
    409: "Conflict with the current state.",
    410: "Gone: what the link named no longer opens anything.",
    413: "Body too large: `request_too_large`.",
    415: "Unsupported media type: `unsupported_media_type`.",
    422: "The content was read and refused.",
    429: "Rate limited: `rate_limited` (details.retry_after, header Retry-After).",
    503: "Temporarily unavailable: `service_unavailable` (try again shortly).",
}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: `<entity>_<problem>`.")
    message = serializers.CharField(help_text="For humans; may change.")
    details = serializers.DictField(help_text="Context: the fields of a validation error, limits, ids.")


class ErrorSerializer(serializers.Serializer):
    """Every 4xx/5xx of the platform, over HTTP."""

    error = ErrorDetailSerializer()


TENANT_HEADER = OpenApiParameter(
    "X-Tenant-ID",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The tenant (slug or id) when the host does not name one, e.g. on the platform host. "
    "On a tenant host it must name that tenant (else 400 `tenant_mismatch`).",
)


class PlatformAutoSchema(AutoSchemaBase):
    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if getattr(self.view, "tenant_only", False):  # tenants.api_base.TenantApi and the tenant's own views
            parameters = [TENANT_HEADER, *parameters]
        return parameters

    def paginator_get(self):
        pagination_class = getattr(self.view, "pagination_class", None) or api_settings.DEFAULT_PAGINATION_CLASS
        return pagination_class() if pagination_class else None

    def responses_build(self, direction: str) -> dict:
        responses = super().responses_build(direction)
        if direction != "response":
            return responses
        own = self.view_errors()
        for status in sorted(self.error_statuses() | set(own)):
            text = STATUS_TEXT[status] + (f" Here also: {own[status]}." if status in own else "")
            responses.setdefault(
                str(status),
                self.response_for(ErrorSerializer, str(status), media_types=["application/json"])
                | {"description": text},
            )
        return responses

    def view_errors(self) -> dict[int, str]:
        """The view's own codes, by method: `error_codes = {"post": {409: "`slug_taken`"}}` on the
        view class, beside the code that raises them (common imports no app's views)."""
        return getattr(self.view, "error_codes", {}).get(self.method.lower(), {})

    def error_statuses(self) -> set[int]:
        # Every request: its tenant is resolved (400/404, 403 suspended or feature off), a
        # bearer token sent is checked (401, also on anonymous routes), the database may be busy.
        statuses = {400, 401, 403, 404, 503}
        if self.view.get_throttles():
            statuses.add(429)
        if self.method in BODY_METHODS:
            statuses.add(413)  # the body limit holds before any body is read
            if self.get_request_serializer() is not None:
                statuses.add(415)
        return statuses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")


class SessionScheme(OpenApiAuthenticationExtension):
    """The session cookie (browsers, /api-auth/login/); unsafe methods also need the CSRF token."""

    target_class = "accounts.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


def document_event_stream(result, generator, request, public):
    """POSTPROCESSING_HOOKS: GET /api/events (Server-Sent Events) is a plain async Django
    view, which spectacular does not see; documented here like the others."""
    error = {"$ref": "#/components/schemas/Error"}

    def fails(status: int, own: str = "") -> dict:
        text = STATUS_TEXT[status] + (f" Here also: {own}." if own else "")
        return {"description": text, "content": {"application/json": {"schema": error}}}

    result["paths"]["/api/events"] = {
        "get": {
            "operationId": "events_stream",
            "tags": ["realtime"],
            "description": "Server-Sent Events (tenant hosts): the user's channel and `tenant`, plus rooms in "
            "`channels`. `id:`/`event:` lines, a heartbeat comment every REALTIME_HEARTBEAT_SECONDS; Last-Event-ID (header "
            "or `last_event_id`) replays what was missed. Counts against the user's live "
            "connections in the tenant, with their WebSockets.",
            "parameters": [
                {
                    "in": "query",
                    "name": "channels",
                    "schema": {"type": "string"},
                    "required": False,
                    "description": "Comma-separated `room:<id>` channels (rooms the user may read).",
                },
                {
                    "in": "query",
                    "name": "last_event_id",
                    "schema": {"type": "string"},
                    "required": False,
                    "description": "Resume after this event id (`<ms>-<seq>`).",
                },
                {"in": "header", "name": "Last-Event-ID", "schema": {"type": "string"}, "required": False},
                {
                    "in": "header",
                    "name": "X-Tenant-ID",
                    "schema": {"type": "string"},
                    "required": False,
                    "description": TENANT_HEADER.description,
                },
            ],
            "security": [{"bearerAuth": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "description": "The stream (never ends by itself).",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "400": fails(400, "`invalid_channel`"),
                "401": fails(401),
                "403": fails(403),
                "404": fails(404, "`room_not_found`"),
                "429": fails(429, "`too_many_connections`"),
                "503": fails(503),
            },
        }
    }
    result["paths"] = dict(sorted(result["paths"].items()))
    return result
