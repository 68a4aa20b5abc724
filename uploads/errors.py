"""Uploads' codes in the shared vocabulary (docs/uploads.md; every code: docs/errors.md).

Every refusal happens before anything is kept: a refused file leaves no object
in storage and no File row.
"""

from common.errors import ApplicationError, Conflict, Forbidden, NotFound


class FileMissing(ApplicationError):
    status, code, message = 400, "file_missing", "Send the file as the multipart field named in the docs."


class FileEmpty(ApplicationError):
    status, code, message = 400, "file_empty", "The file is empty."


class FilenameInvalid(ApplicationError):
    status, code, message = 400, "filename_invalid", "The file name is not acceptable."


class FileTooLarge(ApplicationError):
    status, code, message = 413, "file_too_large", "The file is larger than this tenant accepts."


class FileTypeNotAllowed(ApplicationError):
    status, code, message = 415, "file_type_not_allowed", "This type of file is not accepted here."


class FileTypeMismatch(ApplicationError):
    status, code, message = 415, "file_type_mismatch", "The file's content is not what its extension says."


class StorageQuotaExceeded(Forbidden):
    code, message = "storage_quota_exceeded", "The tenant's storage quota would be exceeded."


class MalwareDetected(ApplicationError):
    status, code, message = 422, "malware_detected", "The file is infected; it was not kept."


class InvalidImage(ApplicationError):
    status, code, message = 422, "invalid_image", "The file is not a usable image."


class TooManyFiles(ApplicationError):
    status, code, message = 400, "too_many_files", "Too many files in one request."


class FilesInvalid(ApplicationError):
    status, code, message = 400, "files_invalid", "Some files were refused; none was stored."


class UploadNotFound(NotFound):
    code, message = "upload_not_found", "No such upload."


class UploadAlreadyConfirmed(Conflict):
    code, message = "upload_already_confirmed", "This upload was confirmed already."


class UploadAlreadyReceived(Conflict):
    code, message = "upload_already_received", "A file was already uploaded to this key."


class UploadUrlInvalid(Forbidden):
    code, message = "upload_url_invalid", "The upload URL is invalid or has expired."


class ScannerUnavailable(ApplicationError):
    status, code, message = 503, "scanner_unavailable", "Files cannot be scanned right now; try again later."


class FileNotFound(NotFound):
    code, message = "file_not_found", "No such file."
