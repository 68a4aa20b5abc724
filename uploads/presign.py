"""Presigned uploads: the client sends the bytes straight to storage, then confirms.

    presign → POST the file to `upload_url` with `fields` → confirm {file_key}

With S3 the URL is a presigned POST whose policy fixes the key, the content
type and a content-length-range up to the declared size. With local storage it
is `/api/upload/direct/<signed token>` on the tenant's host (django.core.signing,
valid as long as the presign), which takes the same form fields, so clients do
not care which storage is behind. Either way nothing is trusted until
`file_confirm`: it checks the presign (this user, this tenant, not confirmed
before), that the object exists and its real size (at most the declared
size, which is an upper bound everywhere), then copies it to a
temporary file and runs every check a multipart upload gets (type by content,
structure, scan, quota) before the File is recorded `ready`. A refused object
is deleted on the spot; presigns never confirmed are removed by the cleanup
job after an hour (cleanup.py).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from jobs.services import job_enqueue
from tenants.audit import Actor

from .errors import (
    FileEmpty,
    FileMissing,
    FileTooLarge,
    FileTypeMismatch,
    FileTypeNotAllowed,
    StorageQuotaExceeded,
    UploadAlreadyConfirmed,
    UploadAlreadyReceived,
    UploadNotFound,
    UploadUrlInvalid,
)
from .models import File, PendingUpload
from .pipeline.names import extension_of, filename_clean
from .pipeline.sniffing import KINDS
from .pipeline.storage import (
    key_is_tenants,
    key_make,
    object_delete,
    object_fetch,
    object_size,
    object_store,
    presigned_post,
    storage_is_s3,
)
from .pipeline.validation import upload_check
from .selectors import storage_used, upload_rules
from .services import Incoming, files_record, scan_or_refuse

DIRECT_SALT = "uploads.direct"
# Names clients commonly give the same types.
CONTENT_TYPE_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
    "application/csv": "text/csv",
    "application/vnd.ms-excel": "text/csv",
}


def upload_presign(*, tenant, user, filename: str, content_type: str, size: int, direct_url) -> dict:
    """{upload_url, method, fields, file_key, expires_in}; `direct_url(token)` makes the local URL."""
    rules = upload_rules(tenant)
    name = filename_clean(filename)
    extension = extension_of(name)
    if extension not in rules.allowed_types or extension not in KINDS:
        raise FileTypeNotAllowed(details={"file": name, "extension": extension, "allowed": rules.allowed_types})
    kind = KINDS[extension]
    declared = content_type.split(";")[0].strip().lower()
    if CONTENT_TYPE_ALIASES.get(declared, declared) != kind.mime:
        raise FileTypeMismatch(
            details={"file": name, "extension": extension, "content_type": content_type, "expected": kind.mime}
        )
    if size < 1:
        raise FileEmpty(details={"file": name})
    if size > rules.max_bytes:
        raise FileTooLarge(details={"file": name, "size": size, "max_bytes": rules.max_bytes})
    used = storage_used()["storage_bytes"]
    if used + size > rules.quota_bytes:
        raise StorageQuotaExceeded(details={"used_bytes": used, "adding_bytes": size, "quota_bytes": rules.quota_bytes})

    expires_in = settings.UPLOADS["PRESIGN_EXPIRES_SECONDS"]
    now = timezone.now()
    key = key_make(tenant, extension)
    with transaction.atomic():
        PendingUpload.objects.create(
            key=key,
            original_name=name,
            content_type=kind.mime,
            declared_size=size,
            user=user,
            expires_at=now + timedelta(seconds=expires_in),
        )
        _cleanup_schedule(tenant, now)
    if storage_is_s3():
        url, fields = presigned_post(key=key, content_type=kind.mime, max_bytes=size, expires_in=expires_in)
    else:
        token = signing.dumps({"t": str(tenant.pk), "k": key}, salt=DIRECT_SALT)
        url, fields = direct_url(token), {"key": key, "Content-Type": kind.mime}
    return {"upload_url": url, "method": "POST", "fields": fields, "file_key": key, "expires_in": expires_in}


def _cleanup_schedule(tenant, now) -> None:
    """One `uploads.cleanup` job per tenant per hour with presigns, running once they are all over an hour old."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    job_enqueue(
        tenant,
        "uploads.cleanup",
        {},
        run_at=hour + timedelta(hours=2, minutes=1),
        priority="low",
        idempotency_key=f"uploads-cleanup:{hour:%Y-%m-%dT%H}",
    )


def direct_upload_pending(*, tenant, token: str) -> PendingUpload:
    """The presign a local upload URL stands for (403 upload_url_invalid when forged, expired or used)."""
    try:
        data = signing.loads(token, salt=DIRECT_SALT, max_age=settings.UPLOADS["PRESIGN_EXPIRES_SECONDS"])
    except signing.BadSignature:  # SignatureExpired included
        raise UploadUrlInvalid() from None
    if data.get("t") != str(tenant.pk):
        raise UploadUrlInvalid()
    pending = PendingUpload.objects.filter(key=data.get("k"), confirmed_at__isnull=True).first()
    if pending is None:
        raise UploadUrlInvalid()
    return pending


def direct_upload_max_bytes(*, tenant, pending: PendingUpload) -> int:
    """The most a direct upload may send: the declared size (S3's content-length-range),
    and never more than the tenant accepts now."""
    return min(pending.declared_size, upload_rules(tenant).max_bytes)


def direct_upload_receive(*, pending: PendingUpload, fields, upload) -> None:
    """Store the file under the presigned key, holding the presign's conditions as S3 would
    (the size is cut off as the body arrives: direct_upload_max_bytes)."""
    if fields.get("key") != pending.key or fields.get("Content-Type") != pending.content_type:
        raise UploadUrlInvalid(
            "The form fields do not match the presign.",
            details={"expected": {"key": pending.key, "Content-Type": pending.content_type}},
        )
    if upload is None:
        raise FileMissing(details={"field": "file"})
    if upload.size == 0:
        raise FileEmpty(details={"file": pending.original_name})
    if upload.size > pending.declared_size:
        raise FileTooLarge(
            "The file is larger than its presign declared.",
            details={"file": pending.original_name, "size": upload.size, "max_bytes": pending.declared_size},
        )
    if object_size(pending.key) is not None:
        raise UploadAlreadyReceived(details={"file_key": pending.key})
    object_store(pending.key, upload)


def file_confirm(*, tenant, user, file_key: str, actor: Actor) -> File:
    if not key_is_tenants(tenant, file_key):
        raise UploadNotFound(details={"file_key": str(file_key)[:200]})
    rules = upload_rules(tenant)
    with transaction.atomic():
        pending = PendingUpload.objects.select_for_update().filter(key=file_key, user=user).first()
        if pending is None:
            raise UploadNotFound(details={"file_key": file_key})
        if pending.confirmed_at is not None:
            raise UploadAlreadyConfirmed(details={"file_key": file_key})
        size = object_size(file_key)
        if size is None:
            raise UploadNotFound("Nothing was uploaded to this key yet.", details={"file_key": file_key})
        pending.confirmed_at = timezone.now()
        pending.save(update_fields=["confirmed_at"])
    upload = None
    max_bytes = min(rules.max_bytes, pending.declared_size)  # the declared size is an upper bound
    try:
        if size > max_bytes:
            message = (
                "The file is larger than its presign declared." if size <= rules.max_bytes else FileTooLarge.message
            )
            raise FileTooLarge(message, details={"file": pending.original_name, "size": size, "max_bytes": max_bytes})
        upload = object_fetch(file_key, max_bytes=max_bytes, name=pending.original_name)
        kind = upload_check(upload, name=pending.original_name, allowed=rules.allowed_types)
        scan_or_refuse(
            tenant=tenant,
            actor=actor,
            fileobj=upload,
            name=pending.original_name,
            size=upload.size,
            sha256=upload.sha256,
        )
        incoming = Incoming(
            upload,
            pending.original_name,
            kind,
            extension_of(pending.original_name),
            upload.size,
            upload.sha256,
            key=file_key,
        )
        return files_record(tenant=tenant, user=user, incoming=[incoming])[0]
    except BaseException:
        object_delete(file_key)  # refused: nothing is kept
        raise
    finally:
        if upload is not None:
            upload.close()
