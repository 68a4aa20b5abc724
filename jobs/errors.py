"""The job system's codes in the shared vocabulary."""

from common.errors import ApplicationError, Conflict, NotFound


class TaskUnknown(ApplicationError):
    status, code, message = 400, "task_unknown", "No such task."


class PayloadInvalid(ApplicationError):
    status, code, message = 400, "payload_invalid", "The payload does not match the task's schema."


class ScheduleInvalid(ApplicationError):
    status, code, message = 400, "schedule_invalid", "A job may be delayed by 0 seconds to 30 days."


class JobOptionInvalid(ApplicationError):
    status, code, message = 400, "validation_error", "Invalid input."


class JobNotFound(NotFound):
    code, message = "job_not_found", "No such job."


class JobNotFailed(Conflict):
    code, message = "job_not_failed", "Only a failed job can be retried."


class JobNotCancellable(Conflict):
    code, message = "job_not_cancellable", "Only a queued, scheduled or retrying job can be cancelled."
