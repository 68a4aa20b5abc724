"""Reports' codes in the shared vocabulary."""

from common.errors import ApplicationError, Conflict, NotFound


class ReportKindUnknown(ApplicationError):
    status, code, message = 400, "report_kind_unknown", "No such kind of report."


class ReportParamsInvalid(ApplicationError):
    status, code, message = 400, "report_params_invalid", "The parameters do not fit this kind of report."


class ReportNotFound(NotFound):
    code, message = "report_not_found", "No such report."


class ReportNotReady(Conflict):
    code, message = "report_not_ready", "The report has no file yet."
