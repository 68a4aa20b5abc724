"""Email's codes in the shared vocabulary."""

from common.errors import ApplicationError


class EmailTemplateUnknown(ApplicationError):
    status, code, message = 400, "template_unknown", "No such email template."


class EmailContextInvalid(ApplicationError):
    status, code, message = 400, "validation_error", "The context does not match the template."


class EmailQuotaExceeded(ApplicationError):
    status, code = 429, "email_quota_exceeded"
    message = "This tenant has sent its emails for today (POST /api/send-email recipients per UTC day)."

    def __init__(self, *, retry_after: int, limit: int, used: int):
        super().__init__(details={"limit": limit, "used": used, "retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}
