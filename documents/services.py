"""Writes of documents (the tenant's schema is active). Access rules: documents.selectors."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from common.errors import NotFound
from common.redis_client import redis_client, tenant_key
from jobs.services import job_enqueue
from tenants.models import MANAGER_ROLES

from .errors import DocumentForbidden, DocumentNotFound, DocumentReadOnly, DocumentTooLarge
from .models import Document, DocumentMember, DocumentUpdate, DocumentVersion
from .rooms import document_gone_publish, update_publish
from .selectors import EDIT, document_state, version_get
from .ydoc import doc_restore_update


def document_create(*, title: str, is_private: bool, creator) -> Document:
    """The creator is an editor member (what lets them into a private document)."""
    with transaction.atomic():
        document = Document.objects.create(title=title, is_private=is_private, created_by=creator)
        DocumentMember.objects.create(document=document, user=creator, role=DocumentMember.Role.EDITOR)
    return document


def document_change(*, document: Document, access: str, **fields) -> Document:
    """PATCH: title and/or is_private; editors only (403 document_read_only)."""
    if access != EDIT:
        raise DocumentReadOnly()
    for name, value in fields.items():
        setattr(document, name, value)
    if fields:
        document.save(update_fields=[*fields, "updated_at"])
    return document


def _may_manage(document: Document, user, tenant_role: str | None) -> bool:
    return document.created_by_id == user.pk or tenant_role in MANAGER_ROLES


def document_delete(*, document: Document, tenant, user, tenant_role: str | None) -> None:
    """Its creator or the tenant's managers (403 document_forbidden); the log and snapshots go with it,
    and once that commits its open sockets close (4404 document_deleted) on every process."""
    if not _may_manage(document, user, tenant_role):
        raise DocumentForbidden()
    document_id = document.pk
    with transaction.atomic():
        document.delete()
        transaction.on_commit(lambda: document_gone_publish(tenant.pk, document_id), robust=True)


def document_member_add(*, document: Document, tenant, user, tenant_role: str | None, user_id: int, role: str):
    """Add (or change the role of) a member of `tenant`; 404 member_not_found for anyone else."""
    if not _may_manage(document, user, tenant_role):
        raise DocumentForbidden()
    member_user = get_user_model().objects.filter(pk=user_id, memberships__tenant=tenant).first()
    if member_user is None:
        raise NotFound("No such member of this tenant.", code="member_not_found")
    member, _ = DocumentMember.objects.update_or_create(document=document, user=member_user, defaults={"role": role})
    return member


# The size check, the seqs and the insert in one transaction: the row lock on the document orders
# writers, so seqs are 1, 2, 3… with no gap (a rolled-back insert rolls its seqs back too).
_TAKE_SEQS = """
UPDATE {document} SET last_seq = last_seq + %(n)s, size = size + %(bytes)s, updated_at = now()
 WHERE id = %(id)s AND size + %(bytes)s <= %(max)s
RETURNING last_seq
"""


def update_append(*, tenant, document_id, data: bytes, author_id: int | None) -> int:
    """Append one (already checked) update to the document's log; its seq. 413 document_too_large
    when it would take the document over MAX_DOCUMENT_BYTES; 404 if the document is gone."""
    [result] = updates_append(tenant=tenant, document_id=document_id, updates=[(data, author_id)])
    if isinstance(result, Exception):
        raise result
    return result


def updates_append(*, tenant, document_id, updates: list[tuple[bytes, int | None]]) -> list[int | Exception]:
    """Append (already checked) updates, in order, to the document's log: for each, its seq or the
    error that refused it (DocumentTooLarge, DocumentNotFound). Database errors raise.

    All in ONE transaction (one `last_seq + n`, one multi-row INSERT) when the document has room
    for all of them; otherwise each on its own, so each is refused or stored as if it came alone
    (the size limit is per update). In the same transaction as the updates (an outbox: they exist
    if and only if the updates do): the throttled `doc.announce` job (one per UPDATED_EVENT_SECONDS
    per document, a Redis key deciding, asked before the transaction opens) and, for each seq that
    is a multiple of COMPACT_EVERY_UPDATES, a `doc.compact` job."""
    if not updates:
        return []
    announce = _announce_due(tenant, document_id)  # Redis: not inside the transaction
    try:
        if len(updates) > 1:
            try:
                first = _append(tenant, document_id, updates, announce)
                return list(range(first, first + len(updates)))
            except DocumentTooLarge:
                pass  # one at a time: the ones that fit are stored
        results: list[int | Exception] = []
        for update in updates:
            try:
                stored = any(isinstance(result, int) for result in results)
                results.append(_append(tenant, document_id, [update], announce and not stored))
            except (DocumentTooLarge, DocumentNotFound) as exc:
                results.append(exc)
        if not any(isinstance(result, int) for result in results):
            _announce_undo(tenant, document_id, announce)
        return results
    except BaseException:
        _announce_undo(tenant, document_id, announce)
        raise


def _append(tenant, document_id, updates: list[tuple[bytes, int | None]], announce: bool) -> int:
    """Store `updates` in one transaction; the first one's seq."""
    conf = settings.DOCUMENTS
    size = sum(len(data) for data, _ in updates)
    sql = _TAKE_SEQS.format(document=connection.ops.quote_name(Document._meta.db_table))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                sql, {"n": len(updates), "bytes": size, "id": document_id, "max": conf["MAX_DOCUMENT_BYTES"]}
            )
            row = cursor.fetchone()
        if row is None:
            if Document.objects.filter(pk=document_id).exists():
                raise DocumentTooLarge(details={"max_bytes": conf["MAX_DOCUMENT_BYTES"]})
            raise DocumentNotFound()
        first = row[0] - len(updates) + 1
        DocumentUpdate.objects.bulk_create(
            DocumentUpdate(document_id=document_id, seq=seq, data=data, author_id=author_id)
            for seq, (data, author_id) in enumerate(updates, start=first)
        )
        payload = {"document_id": str(document_id)}
        if announce:
            job_enqueue(tenant, "doc.announce", payload, delay=timedelta(seconds=conf["UPDATED_EVENT_SECONDS"]))
        every = conf["COMPACT_EVERY_UPDATES"]
        for seq in range(-(-first // every) * every, row[0] + 1, every):
            job_enqueue(
                tenant, "doc.compact", payload, priority="low", idempotency_key=f"doc.compact:{document_id}:{seq}"
            )
    return first


def _announce_key(tenant, document_id) -> str:
    return tenant_key(tenant.pk, "doc", document_id, "announce")


def _announce_due(tenant, document_id) -> bool:
    """True for the first update of a throttle window. The key lives a second less than the job's
    delay, so an update that saw it committed before the job reads the document."""
    ttl = max(1, settings.DOCUMENTS["UPDATED_EVENT_SECONDS"] - 1)
    return bool(redis_client().set(_announce_key(tenant, document_id), "1", nx=True, ex=ttl))


def _announce_undo(tenant, document_id, announce: bool) -> None:
    """Nothing was stored: the window's job was not queued, so the next update may queue it."""
    if announce:
        try:
            redis_client().delete(_announce_key(tenant, document_id))
        except Exception:
            pass


def version_create(*, document: Document, access: str, name: str, user) -> DocumentVersion:
    """A named version: the whole document as stored now (state and seq). Editors only (403
    document_read_only). Versions do not count toward the document's size."""
    if access != EDIT:
        raise DocumentReadOnly()
    state, seq = document_state(document_id=document.pk)
    return DocumentVersion.objects.create(document=document, name=name, seq=seq, state=state, created_by=user)


def version_restore(*, document: Document, access: str, version_id, tenant, user) -> tuple[int, bool]:
    """Make the document show what the version shows, by a NEW update (ydoc.doc_restore_update:
    each root's content replaced), appended and then sent like an editor's (update_append, then
    every process's room through Redis): the log is never rewound, open editors see the change
    live. (seq of the document after it, whether anything changed.) Editors only (403
    document_read_only); 404 version_not_found; 413 document_too_large."""
    if access != EDIT:
        raise DocumentReadOnly()
    version = version_get(document=document, version_id=version_id)
    current, seq = document_state(document_id=document.pk)
    update = doc_restore_update(current, bytes(version.state))
    if update is None:
        return seq, False
    seq = update_append(tenant=tenant, document_id=document.pk, data=update, author_id=user.pk)
    # stored (committed) first, then sent; if this fails, open rooms reconcile from the log
    transaction.on_commit(lambda: update_publish(tenant.pk, document.pk, seq, update), robust=True)
    return seq, True
