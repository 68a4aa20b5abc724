"""Lifecycle's codes in the shared vocabulary (docs/errors.md)."""

from common.errors import ApplicationError, Conflict, NotFound


class ExportNotFound(NotFound):
    code, message = "export_not_found", "No such export."


class ExportInProgress(Conflict):
    code, message = "export_in_progress", "An export of this tenant is already under way."


class ExportNotReady(Conflict):
    code, message = "export_not_ready", "The export has no archive yet."


class ExportArchiveGone(NotFound):
    code, message = "export_archive_gone", "The export's archive is no longer in storage; start a new export."


class RestoreArchiveInvalid(ApplicationError):
    status, code, message = 400, "archive_invalid", "Not a tenant archive, or its content does not match its manifest."


class RestoreIncompatible(Conflict):
    code, message = "restore_incompatible", "The archive's tables do not match this platform's (other migrations)."


class RestoreTargetNotEmpty(Conflict):
    code, message = "restore_target_not_empty", "The tenant restored into already holds data."
