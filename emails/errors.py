"""Email's codes in the shared vocabulary."""
from common.errors import ApplicationError


class EmailTemplateUnknown(ApplicationError):
    status, code, message = 400, "template_unknown", "No such email template."


class EmailContextInvalid(ApplicationError):
    status, code, message = 400, "validation_error", "The context does not match the template."
