"""Webhooks' codes in the shared vocabulary (docs/errors.md)."""

from common.errors import ApplicationError, Conflict, NotFound


class WebhookNotFound(NotFound):
    code, message = "webhook_not_found", "No such webhook."


class WebhookDeliveryNotFound(NotFound):
    code, message = "webhook_delivery_not_found", "No such delivery of this webhook."


class WebhookEventsUnknown(ApplicationError):
    status, code, message = 400, "webhook_events_unknown", "Some events are not in the catalogue."


class WebhookUrlRefused(ApplicationError):
    status, code, message = 400, "webhook_url_refused", "The URL is not an http(s) URL to a public address."


class WebhookLimitReached(Conflict):
    code, message = "webhook_limit_reached", "This tenant has as many webhooks as it may have."


class WebhookDisabled(Conflict):
    code, message = "webhook_disabled", "The webhook is disabled; enable it (PATCH enabled: true) first."


class WebhookDeliveryInProgress(Conflict):
    code, message = "webhook_delivery_in_progress", "The delivery is still pending or retrying."
