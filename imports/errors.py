"""Imports' codes in the shared vocabulary: a file refused before anything is queued."""

from common.errors import ApplicationError


class FileMissing(ApplicationError):
    status, code, message = 400, "file_missing", "Send the CSV as the multipart field `file`."


class FileTooLarge(ApplicationError):
    status, code, message = 413, "file_too_large", "The file is larger than imports accept."


class FileTypeUnsupported(ApplicationError):
    status, code, message = 415, "file_type_unsupported", "Imports accept UTF-8 CSV files (.csv) only."


class CsvHeaderInvalid(ApplicationError):
    status, code, message = 400, "csv_header_invalid", "The first line must be the header `email,role`."


class CsvEmpty(ApplicationError):
    status, code, message = 400, "csv_empty", "The file has a header but no rows."


class CsvTooManyRows(ApplicationError):
    status, code, message = 413, "csv_too_many_rows", "The file has more rows than one import accepts."
