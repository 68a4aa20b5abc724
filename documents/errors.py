"""Documents' codes in the shared vocabulary (docs/errors.md)."""

from common.errors import ApplicationError, Forbidden, NotFound


class DocumentNotFound(NotFound):
    code, message = "document_not_found", "No such document."


class DocumentVersionNotFound(NotFound):
    code, message = "version_not_found", "No such version of this document."


class DocumentReadOnly(Forbidden):
    code, message = "document_read_only", "You may read this document, not change it."


class DocumentForbidden(Forbidden):
    code, message = "document_forbidden", "Only the document's creator or the tenant's owners and admins may do this."


class DocumentTooLarge(ApplicationError):
    status, code, message = 413, "document_too_large", "The document is at its size limit."


class DocumentUpdateMalformed(ApplicationError):
    status, code, message = 400, "update_malformed", "The update is not a valid Yjs update."
