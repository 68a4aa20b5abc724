"""django-storages: the S3 client, bucket and object key behind an S3Storage.

Uses `S3Storage._normalize_name` (with the public `storages.utils.clean_name`): the object
key of a storage name (the storage's `location` prefixed, `..` refused), as every
S3Storage method computes it; and the documented `connection` and `bucket_name`.

Why no public API: uploads.pipeline.storage calls boto3 for what django-storages does not wrap —
presigned POST with a policy, HEAD without an exception for a missing object, streamed
GETs — and the keys must be the ones the storage itself reads and writes. (A presigned
GET has a public API, `S3Storage.url(name, parameters=…, expire=…)`, which uploads uses.)

On upgrade: check that `_normalize_name(clean_name(name))` is still how S3Storage turns a
name into a key (e.g. in `_save` and `url`); tests/uploads run against a real S3 endpoint.
"""

from __future__ import annotations

from . import Internal, Owned

_S3 = "storages.backends.s3"

REQUIRES = (
    Internal(
        "django-storages",
        _S3,
        "S3Storage._normalize_name",
        params=("name",),
        used_by=(f"{_S3}:S3Storage._save", f"{_S3}:S3Storage.url"),
    ),
    Internal("django-storages", _S3, "S3Storage.connection"),
    Internal("django-storages", "storages.utils", "clean_name", params=("name",), used_by=(f"{_S3}:S3Storage._save",)),
)
OWNS = Owned(names=frozenset({"_normalize_name"}), modules=("storages",))


def s3_access(storage):
    """(boto3 client, bucket, the object key of a storage name) of an S3Storage."""
    from storages.utils import clean_name  # django-storages is imported only when S3 is used

    return storage.connection.meta.client, storage.bucket_name, lambda name: storage._normalize_name(clean_name(name))
