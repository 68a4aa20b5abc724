"""Where uploaded objects live: Django's storage `settings.UPLOADS["STORAGE"]`
(the default storage): the local FileSystemStorage under the data folder,
outside any web root, or S3 through django-storages when
AWS_STORAGE_BUCKET_NAME is set. Keys are made here, from ids only:

    tenants/<tenant id>/uploads/<uuid hex><.ext>

(a uuid4 for what users send, a uuid5 of the source file's id for what the
platform derives from it: key_derived).

What django-storages does not wrap (presigned POST, HEAD, streamed reads) goes
to boto3 through the storage's own client and keys (common/compat/storages.py),
so settings and credentials stay in one place.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid

from django.conf import settings
from django.core.files.storage import Storage, storages

from common.compat.storages import s3_access

from ..errors import FileTooLarge
from .handlers import StreamedUpload
from .sniffing import HEAD_BYTES

CHUNK = 256 * 1024


def upload_storage() -> Storage:
    return storages[settings.UPLOADS["STORAGE"]]


def storage_is_s3(storage: Storage | None = None) -> bool:
    storage = storage or upload_storage()
    return hasattr(storage, "bucket_name") and hasattr(storage, "connection")


def uploads_prefix(tenant) -> str:
    return f"tenants/{tenant.pk}/uploads/"


def key_make(tenant, extension: str) -> str:
    return f"{uploads_prefix(tenant)}{uuid.uuid4().hex}{'.' + extension if extension else ''}"


def key_derived(tenant, source_id, variant: str, extension: str) -> str:
    """The key of an object made from file `source_id` (its processed image: variant
    "processed"): a uuid5 of the source's id, so every run of a job computes the same
    key and finds its own earlier output instead of storing a second one."""
    return f"{uploads_prefix(tenant)}{uuid.uuid5(uuid.UUID(str(source_id)), variant).hex}.{extension}"


_KEY = re.compile(r"^tenants/[0-9a-f-]{36}/uploads/[0-9a-f]{32}(\.[a-z0-9]{1,8})?$")


def key_is_tenants(tenant, key: str) -> bool:
    """A key this platform made for `tenant` (anything else is never looked up)."""
    return isinstance(key, str) and bool(_KEY.match(key)) and key.startswith(uploads_prefix(tenant))


def object_store(key: str, fileobj) -> None:
    """Store `fileobj` at exactly `key` (a temporary upload on local disk is moved, not copied)."""
    storage = upload_storage()
    stored = storage.save(key, fileobj)
    if stored != key:  # never happens with uuid keys; never keep a file under another name
        storage.delete(stored)
        raise RuntimeError(f"storage kept {key!r} as {stored!r}")


def object_delete(key: str) -> None:
    upload_storage().delete(key)


def object_size(key: str) -> int | None:
    """The stored object's size, None when there is none."""
    storage = upload_storage()
    if storage_is_s3(storage):
        client, bucket, s3_key = s3_access(storage)
        try:
            return client.head_object(Bucket=bucket, Key=s3_key(key))["ContentLength"]
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
    return storage.size(key) if storage.exists(key) else None


def _chunks(key: str):
    storage = upload_storage()
    if storage_is_s3(storage):
        client, bucket, s3_key = s3_access(storage)
        body = client.get_object(Bucket=bucket, Key=s3_key(key))["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()
    else:
        with storage.open(key, "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk


def object_fetch(key: str, *, max_bytes: int, name: str) -> StreamedUpload:
    """A stored object copied into a temporary file as it streams in (hashed, first
    bytes kept), cut off past `max_bytes` — the same shape as a multipart upload."""
    os.makedirs(settings.FILE_UPLOAD_TEMP_DIR, exist_ok=True)
    upload = StreamedUpload(name, "application/octet-stream", 0, None)
    hasher, head, size = hashlib.sha256(), bytearray(), 0
    try:
        for chunk in _chunks(key):
            size += len(chunk)
            if size > max_bytes:
                raise FileTooLarge(details={"file": name, "max_bytes": max_bytes})
            hasher.update(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            upload.write(chunk)
    except BaseException:
        upload.close()
        raise
    upload.seek(0)
    upload.size, upload.sha256, upload.head = size, hasher.hexdigest(), bytes(head)
    return upload


def object_keys(prefix: str) -> list[str]:
    """Every stored key under `prefix` (a folder)."""
    storage = upload_storage()
    prefix = prefix.rstrip("/")
    if not storage_is_s3(storage) and not storage.exists(prefix):
        return []
    _, files = storage.listdir(prefix)
    return [f"{prefix}/{name}" for name in files]


def presigned_post(*, key: str, content_type: str, max_bytes: int, expires_in: int) -> tuple[str, dict]:
    """S3: (url, form fields) of a POST whose policy fixes the key, the content type
    and a content-length-range of 1..max_bytes."""
    client, bucket, s3_key = s3_access(upload_storage())
    post = client.generate_presigned_post(
        Bucket=bucket,
        Key=s3_key(key),
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_in,
    )
    return post["url"], post["fields"]


def presigned_get(*, key: str, filename: str, content_type: str, expires_in: int) -> str:
    """S3: a short-lived GET that makes S3 answer with our sniffed type, as an attachment.

    Signed by boto3 itself, always: S3Storage.url() signs nothing when AWS_S3_CUSTOM_DOMAIN
    is set or AWS_QUERYSTRING_AUTH is off, and an unsigned link would never expire and leave
    the forced type and attachment as inert query parameters."""
    from django.utils.http import content_disposition_header

    client, bucket, s3_key = s3_access(upload_storage())
    return client.generate_presigned_url(
        "get_object",
        ExpiresIn=expires_in,
        Params={
            "Bucket": bucket,
            "Key": s3_key(key),
            "ResponseContentType": content_type,
            "ResponseContentDisposition": content_disposition_header(True, filename),
        },
    )
