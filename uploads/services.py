"""Writes: receiving files, recording them, deleting them.

    file = file_upload(tenant=t, user=u, upload=request.FILES["file"], actor=actor)

Every upload goes the same way: the body was streamed to a temporary file
(pipeline/handlers.py: size limit, SHA-256), then the name, type and structure are
checked (pipeline/validation.py), the content is scanned (pipeline/scanning.py), the quota is
checked under a per-tenant lock while the File rows are written `pending`,
the objects are stored, and the rows become `ready`. A refusal at any step
leaves nothing: no object, no row. Presigned uploads: presign.py.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from common.domain_events import emit
from common.errors import ApplicationError
from tenants.audit import Actor, audit_record
from tenants.errors import InsufficientRole
from tenants.models import MANAGER_ROLES

from .domain_events import FileStored
from .errors import (
    FileMissing,
    FilesInvalid,
    FileTypeNotAllowed,
    InvalidImage,
    MalwareDetected,
    ScannerUnavailable,
    StorageQuotaExceeded,
)
from .models import File
from .pipeline.image_streaming import DEFERRED, image_made
from .pipeline.names import extension_of, filename_clean
from .pipeline.scanning import scanner_get
from .pipeline.sniffing import IMAGE_EXTENSIONS, KINDS, FileKind
from .pipeline.storage import key_derived, key_make, object_delete, object_fetch, object_size, object_store
from .pipeline.validation import image_check, upload_check
from .selectors import COUNTED, upload_rules

logger = logging.getLogger(__name__)


@dataclass
class Incoming:
    """A checked file about to be recorded: its content and what we know of it."""

    content: BinaryIO
    name: str
    kind: FileKind
    extension: str
    size: int
    sha256: str
    key: str = ""  # set when the object is already stored (presigned uploads)


def upload_accept(*, tenant, upload, actor: Actor, allowed: list[str]) -> Incoming:
    """Name, type, structure and malware checks of one received file (raises the refusal)."""
    name = filename_clean(upload.name)
    kind = upload_check(upload, name=name, allowed=allowed)
    scan_or_refuse(tenant=tenant, actor=actor, fileobj=upload, name=name, size=upload.size, sha256=upload.sha256)
    return Incoming(upload, name, kind, extension_of(name), upload.size, upload.sha256)


def scan_or_refuse(*, tenant, actor: Actor, fileobj, name: str, size: int, sha256: str, result=None) -> None:
    """Scan (unless `result` is the scan's, already made); an infected file is audited
    (`upload.malware_detected`) and refused (422)."""
    scanner = scanner_get()
    result = result if result is not None else scanner.scan(fileobj)
    fileobj.seek(0)
    if result.infected:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="upload.malware_detected",
            target=f"file:{name}",
            after={
                "name": name,
                "size": size,
                "sha256": sha256,
                "signature": result.signature,
                "scanner": scanner.name,
            },
        )
        raise MalwareDetected(details={"file": name, "signature": result.signature})


QUOTA_LOCK = 0x75706C64  # pg_advisory_xact_lock's first key: "upld"


def _storage_used_locked(tenant, *, reservation: bool = False) -> int:
    """The tenant's bytes in storage, read under its quota lock (which serialises the
    tenant's quota checks until the transaction ends). One round trip: the lock, then the
    sum in a statement of its own, so that its snapshot comes after the lock.
    `reservation`: this transaction's commit is not waited on to disk (synchronous_commit
    off, for it alone; see files_record)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pg_advisory_xact_lock(%s, %s){', set_config(%s, %s, true)' if reservation else ''}; "
            f"SELECT COALESCE(SUM(size), 0) FROM {File._meta.db_table} WHERE status IN (%s, %s)",
            [
                QUOTA_LOCK,
                hash_int32(tenant.pk.bytes),
                *(("synchronous_commit", "off") if reservation else ()),
                *COUNTED,
            ],
        )
        cursor.nextset()
        return cursor.fetchone()[0]


def hash_int32(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=4).digest(), "big", signed=True)


def files_record(*, tenant, user, incoming: list[Incoming]) -> list[File]:
    """Quota check and `pending` rows under the tenant's lock, then the objects stored
    (unless they already are), then `ready`. Nothing is left behind on failure.

    Four round trips: the lock with the sum, one INSERT, the commit, the UPDATE to
    `ready`. The reservation's commit (when it is a transaction of its own) is not waited
    on to disk: a crash may lose it, leaving at most an object no row names (the
    `orphaned_files` sweep removes it); the UPDATE's commit is durable, and flushes the
    log up to it, the rows' INSERT included."""
    rules = upload_rules(tenant)
    adding = sum(item.size for item in incoming)
    files = [
        File(
            key=item.key or key_make(tenant, item.extension),
            original_name=item.name,
            size=item.size,
            mime_type=item.kind.mime,
            sha256=item.sha256,
            uploaded_by=user,
            status=File.Status.PENDING,
        )
        for item in incoming
    ]
    outermost = not connection.in_atomic_block  # else the caller's transaction: its commit is as it chose
    with transaction.atomic():
        used = _storage_used_locked(tenant, reservation=outermost)
        if used + adding > rules.quota_bytes:
            raise StorageQuotaExceeded(
                details={"used_bytes": used, "adding_bytes": adding, "quota_bytes": rules.quota_bytes}
            )
        File.objects.bulk_create(files)
    stored = []
    try:
        for file, item in zip(files, incoming, strict=True):
            if not item.key:
                object_store(file.key, item.content)
                stored.append(file.key)
    except BaseException:
        for key in stored:
            object_delete(key)
        File.objects.filter(pk__in=[file.pk for file in files]).delete()
        raise
    now = timezone.now()
    File.objects.filter(pk__in=[file.pk for file in files]).update(status=File.Status.READY, updated_at=now)
    for file in files:
        file.status, file.updated_at = File.Status.READY, now
        _stored(tenant, file, actor_id=getattr(user, "pk", None))
    return files


def _stored(tenant, file: File, *, actor_id: int | None) -> None:
    emit(
        FileStored(
            tenant_id=str(tenant.pk),
            file_id=str(file.pk),
            original_name=file.original_name,
            size=file.size,
            mime_type=file.mime_type,
            sha256=file.sha256,
            uploaded_by_id=file.uploaded_by_id,
            actor_id=actor_id,
        )
    )


def file_upload(*, tenant, user, upload, actor: Actor) -> File:
    if upload is None:
        raise FileMissing(details={"field": "file"})
    rules = upload_rules(tenant)
    return files_record(
        tenant=tenant,
        user=user,
        incoming=[upload_accept(tenant=tenant, upload=upload, actor=actor, allowed=rules.allowed_types)],
    )[0]


def files_upload(*, tenant, user, uploads: list, actor: Actor) -> list[File]:
    """All or nothing: every file is checked; any refusal → 400 files_invalid naming each refused file."""
    if not uploads:
        raise FileMissing(details={"field": "files"})
    rules = upload_rules(tenant)
    accepted, refused = [], []
    for index, upload in enumerate(uploads):
        try:
            accepted.append(upload_accept(tenant=tenant, upload=upload, actor=actor, allowed=rules.allowed_types))
        except ApplicationError as exc:
            refused.append(
                {"index": index, "file": upload.name, "code": exc.code, "message": exc.message, "details": exc.details}
            )
    if refused:
        raise FilesInvalid(details={"files": refused})
    return files_record(tenant=tenant, user=user, incoming=accepted)


IMAGE_TASK = "uploads.image_process"


@dataclass
class ImageUpload:
    """What POST /api/upload/image made: the original and its processed JPEG (processed
    in the request), or the original and the job that will make the JPEG (`job`)."""

    original: File
    processed: File | None = None
    width: int | None = None
    height: int | None = None
    job: object | None = None  # jobs.models.Job


def image_upload(*, tenant, user, upload, actor: Actor) -> ImageUpload:
    """The original (checked like any upload) and a JPEG fitting IMAGE_MAX_SIDE² (uploads.pipeline.images):
    made here for an image of at most IMAGE_INLINE_MAX_PIXELS, else by the job `uploads.image_process`.

    An image made here is decoded once: making the JPEG is its structure check (the whole
    stream through the extension's decoder, under the same pixel and byte bounds), so
    upload_check leaves the decode out; that decode starts while the body still arrives
    (image_streaming). The order of refusals is any upload's: type, structure, malware, quota."""
    from .pipeline import images

    if upload is None:
        raise FileMissing(details={"field": "image"})
    rules = upload_rules(tenant)
    name = filename_clean(upload.name)
    if extension_of(name) not in IMAGE_EXTENSIONS:
        raise FileTypeNotAllowed(
            "Send an image.",
            details={
                "file": name,
                "extension": extension_of(name),
                "allowed": sorted(IMAGE_EXTENSIONS & set(rules.allowed_types)),
            },
        )
    kind = upload_check(upload, name=name, allowed=rules.allowed_types, decode=False)
    scanned = _scan_meanwhile(upload)
    made = None
    try:
        if kind.pillow_format not in images.ACCEPTED_FORMATS:  # a GIF: the engine takes none
            raise images.InvalidImage("Not a JPEG, PNG or WebP image.", reason="not_an_image")
        made = image_made(
            upload,
            kind.pillow_format,
            max_side=settings.UPLOADS["IMAGE_MAX_SIDE"],
            quality=settings.UPLOADS["IMAGE_QUALITY"],
            inline_max_pixels=settings.UPLOADS["IMAGE_INLINE_MAX_PIXELS"],
        )
        if made is DEFERRED:
            made = None
            image_check(upload, kind.pillow_format, name=name)  # decoded whole now; the job makes the JPEG
    except images.InvalidImage as exc:
        raise InvalidImage(str(exc), details={"file": name, "reason": exc.reason}) from None
    scan_or_refuse(
        tenant=tenant, actor=actor, fileobj=upload, name=name, size=upload.size, sha256=upload.sha256, result=scanned
    )
    original = Incoming(upload, name, kind, extension_of(name), upload.size, upload.sha256)
    if made is None:
        return _image_upload_deferred(tenant=tenant, user=user, original=original)
    data, width, height = made
    processed = Incoming(
        ContentFile(data),
        processed_name(name, width, height),
        KINDS["jpg"],
        "jpg",
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    original_file, processed_file = files_record(tenant=tenant, user=user, incoming=[original, processed])
    return ImageUpload(original_file, processed_file, width, height)


def _scan_meanwhile(upload):
    """The scan, made while a stream still decodes the image (image_streaming); its verdict
    waits its turn (after the structure's). A scanner that fails is asked again then."""
    if getattr(upload, "image_stream", None) is None:
        return None
    try:
        return scanner_get().scan(upload)
    except ScannerUnavailable:
        return None


def processed_name(name: str, width: int, height: int) -> str:
    stem = name.rpartition(".")[0] or name
    return f"{stem[:240]}-{width}x{height}.jpg"


def _image_upload_deferred(*, tenant, user, original: Incoming) -> ImageUpload:
    """A large image: the original is stored (`ready`) and the job queued in one go;
    if the job cannot be queued, the original goes too (nothing half done is kept).
    The payload names the File, never its content."""
    from jobs.services import job_enqueue

    (file,) = files_record(tenant=tenant, user=user, incoming=[original])
    try:
        with transaction.atomic():
            job = job_enqueue(
                tenant, IMAGE_TASK, {"file": str(file.pk)}, user=user, idempotency_key=f"{IMAGE_TASK}:{file.pk}"
            )
    except BaseException:
        File.objects.filter(pk=file.pk).delete()
        _object_delete_quietly(file.key)
        raise
    return ImageUpload(file, job=job)


class OriginalGone(Exception):
    """The original of a deferred image was deleted (or is no longer ready)."""


def image_processed_record(*, tenant, original: File, data: bytes, width: int, height: int) -> tuple[File, bool]:
    """Record the processed JPEG of `original` (the job's side of a large image):
    `(file, created)`. Idempotent: its key is derived from the original's id, so a
    re-run (a retried or re-delivered job) finds the File it made and stores nothing.

    One transaction, holding the original's row: the object is stored and the File
    recorded `ready` (counted against the quota, like the in-request JPEG) together;
    an object left by a run that died before its commit is replaced."""
    key = key_derived(tenant, original.pk, "processed", "jpg")
    with transaction.atomic():
        if not File.objects.select_for_update().filter(pk=original.pk, status=File.Status.READY).exists():
            raise OriginalGone(str(original.pk))
        existing = File.objects.filter(key=key).first()
        if existing is not None:
            return existing, False
        rules = upload_rules(tenant)
        used = _storage_used_locked(tenant)
        if used + len(data) > rules.quota_bytes:
            raise StorageQuotaExceeded(
                details={"used_bytes": used, "adding_bytes": len(data), "quota_bytes": rules.quota_bytes}
            )
        if object_size(key) is not None:
            object_delete(key)
        try:
            object_store(key, ContentFile(data))
            file = File.objects.create(
                key=key,
                original_name=processed_name(original.original_name, width, height),
                size=len(data),
                mime_type=KINDS["jpg"].mime,
                sha256=hashlib.sha256(data).hexdigest(),
                uploaded_by_id=original.uploaded_by_id,
                status=File.Status.READY,
            )
        except BaseException:
            _object_delete_quietly(key)
            raise
        _stored(tenant, file, actor_id=None)  # the job's work: no one acting
    return file, True


def image_process_run(*, job, file_id) -> dict:
    """The `uploads.image_process` job: fetch the original, make the JPEG, record it,
    tell the uploader (`file.processed`). What retrying cannot fix fails the job at once."""
    from jobs.runner import JobFailure
    from realtime.engine.publish import notify_user

    from .errors import FileTooLarge
    from .pipeline import images

    original = File.objects.filter(pk=file_id, status=File.Status.READY).first()
    if original is None:
        raise JobFailure(f"file_not_found: the original {file_id} no longer exists", retry=False)
    job.progress(5, "reading the original")
    try:
        source = object_fetch(original.key, max_bytes=original.size, name=original.original_name)
    except FileTooLarge:
        raise JobFailure("file_changed: the stored original is larger than recorded", retry=False) from None
    try:
        if (source.size, source.sha256) != (original.size, original.sha256):
            raise JobFailure("file_changed: the stored original does not match its SHA-256", retry=False)
        job.progress(25, "resizing")
        try:
            data, width, height = images.image_process(
                source.temporary_file_path(),
                max_side=settings.UPLOADS["IMAGE_MAX_SIDE"],
                quality=settings.UPLOADS["IMAGE_QUALITY"],
            )
        except images.InvalidImage as exc:
            raise JobFailure(f"invalid_image: {exc} ({exc.reason})", retry=False) from None
    finally:
        source.close()  # deletes the temporary copy
    job.progress(80, "storing the processed image")
    try:
        processed, _ = image_processed_record(
            tenant=job.tenant, original=original, data=data, width=width, height=height
        )
    except OriginalGone:
        raise JobFailure(f"file_not_found: the original {file_id} was deleted", retry=False) from None
    except StorageQuotaExceeded as exc:
        raise JobFailure(f"storage_quota_exceeded: {exc.message}", retry=False) from None
    job.progress(100, "processed")
    result = {"file": str(original.pk), "processed": str(processed.pk), "width": width, "height": height}
    recipient = job.user_id or original.uploaded_by_id
    if recipient:
        notify_user(recipient, "file.processed", {**result, "job": job.id}, tenant=job.tenant)
    return result


def file_delete(*, file: File, user, role: str | None) -> None:
    """The uploader or an owner/admin; the object goes once the row's deletion commits
    (if that fails, the nightly `orphaned_files` sweep takes it)."""
    if file.uploaded_by_id != user.pk and role not in MANAGER_ROLES:
        raise InsufficientRole(details={"required": ["uploader", "owner", "admin"]})
    key = file.key
    with transaction.atomic():
        File.objects.filter(pk=file.pk).delete()
        transaction.on_commit(lambda: _object_delete_quietly(key))


def _object_delete_quietly(key: str) -> None:
    try:
        object_delete(key)
    except Exception:  # storage down: the sweep removes it later
        logger.warning("could not delete %s; the orphaned_files sweep will", key, exc_info=True)
