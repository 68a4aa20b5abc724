"""Reads of documents (the request's or the connection's tenant schema is active).

Who may do what (docs/documents.md, "Access"):
- a document that is not private: every member of the tenant reads and edits it;
- a private one: its members only (DocumentMember), `editor`s edit, `viewer`s read; to anyone
  else it does not exist (404 `document_not_found`, as a private room one is not in);
- deleting a document and managing its members: its creator, or the tenant's owners and admins.
"""

from __future__ import annotations

import uuid

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from pycrdt import merge_updates

from .errors import DocumentNotFound, DocumentVersionNotFound
from .models import Document, DocumentMember, DocumentSnapshot, DocumentUpdate, DocumentVersion

EDIT, READ = "edit", "read"


def document_list_for_user(*, user) -> QuerySet[Document]:
    member = DocumentMember.objects.filter(document=OuterRef("pk"), user=user)
    return Document.objects.filter(Q(is_private=False) | Exists(member))


def document_get_for_user(*, document_id, user) -> tuple[Document, str]:
    """(the document, EDIT or READ), or 404 document_not_found if the user may not see it."""
    try:
        document_id = uuid.UUID(str(document_id))
    except ValueError:
        raise DocumentNotFound() from None
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        raise DocumentNotFound()
    role = DocumentMember.objects.filter(document=document, user=user).values_list("role", flat=True).first()
    if not document.is_private:
        return document, READ if role == DocumentMember.Role.VIEWER else EDIT
    if role is None:
        raise DocumentNotFound()
    return document, EDIT if role == DocumentMember.Role.EDITOR else READ


# Held while the log is read: compaction's FOR UPDATE waits for it (and it for compaction), so the
# snapshot and the updates after it are read from one side of a compaction, never across it (a
# snapshot read before and the updates after one would miss those it replaced). Appends' row lock
# (FOR NO KEY UPDATE) does not conflict with it.
_LOG_READ_LOCK = "SELECT 1 FROM {document} WHERE id = %s FOR KEY SHARE"


def document_log(*, document_id, after_seq: int = 0) -> tuple[bytes | None, int, list[tuple[int, bytes]]]:
    """(snapshot, its up_to_seq, [(seq, update) after both], in order): what a replica that has
    applied every update up to `after_seq` lacks. The snapshot (None if there is none, or if it
    holds nothing the replica lacks) stands for the updates compaction replaced."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                _LOG_READ_LOCK.format(document=connection.ops.quote_name(Document._meta.db_table)), [document_id]
            )
        return _log_read(document_id, after_seq)


def _log_read(document_id, after_seq: int) -> tuple[bytes | None, int, list[tuple[int, bytes]]]:
    floor, snapshot = after_seq, None
    row = (
        DocumentSnapshot.objects.filter(document_id=document_id, up_to_seq__gt=after_seq)
        .values_list("state", "up_to_seq")
        .first()
    )
    if row is not None:
        snapshot, floor = bytes(row[0]), row[1]
    updates = DocumentUpdate.objects.filter(document_id=document_id, seq__gt=floor).order_by("seq")
    return snapshot, floor, [(seq, bytes(data)) for seq, data in updates.values_list("seq", "data")]


def document_state(*, document_id) -> tuple[bytes, int]:
    """(the whole document as one update, the seq it is up to)."""
    snapshot, floor, updates = document_log(document_id=document_id)
    parts = ([snapshot] if snapshot else []) + [data for _, data in updates]
    last = updates[-1][0] if updates else floor
    if not parts:
        return b"\x00\x00", last
    return (parts[0] if len(parts) == 1 else merge_updates(*parts)), last


def version_list(*, document: Document) -> QuerySet[DocumentVersion]:
    """Newest first; without the state (the list does not need it)."""
    return DocumentVersion.objects.filter(document=document).defer("state").order_by("-created_at", "id")


def version_get(*, document: Document, version_id) -> DocumentVersion:
    """The document's version, or 404 version_not_found (another document's is not found either)."""
    version = DocumentVersion.objects.filter(document=document, pk=version_id).first()
    if version is None:
        raise DocumentVersionNotFound()
    return version
