"""The services the platform runs on: PostgreSQL, Redis (cache, channel layer) and file storage."""

from __future__ import annotations

import dj_database_url

from config.env import env

from .base import DATA_DIR

# --- PostgreSQL -------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", default="postgresql://postgres@localhost:5432/platform")
# The ASGI server runs every request's sync code in a thread of its own, so
# per-thread persistent connections are never reused there: config/asgi.py
# turns on psycopg's connection pool (DB_POOL=1). Management commands and the
# forking qcluster keep plain persistent connections (a pool must not cross a fork).
DB_POOL = env.bool("DB_POOL", default=False)
_db = dj_database_url.parse(
    DATABASE_URL,
    engine="common.postgresql",  # django-tenants' (+ fewer SETs)
    conn_max_age=0 if DB_POOL else env.int("CONN_MAX_AGE", default=60),
    conn_health_checks=not DB_POOL,
)
if "host" in _db.get("OPTIONS", {}):  # unix socket given as ?host=/path
    _db["HOST"] = _db["OPTIONS"].pop("host")
if DB_POOL:
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
        "timeout": env.float("DB_POOL_TIMEOUT", default=10),  # longest wait for a connection (then 503)
    }
DATABASES = {"default": _db}

# --- Redis: the cache and the channel layer ---------------------------------
REDIS_URL = env("REDIS_URL", default="redis://localhost:6379/0")
CACHES = {
    # Keys written in a tenant's context are prefixed with its schema by
    # django-tenants' key function, so tenants can never read each other's cache.
    "default": {
        "BACKEND": "common.cache.SharedRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "c",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    # Platform-level keys (host → tenant resolution, memberships): global by design.
    "platform": {
        "BACKEND": "common.cache.SharedRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "platform",
        "TIMEOUT": 3600,
    },
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "chan"},
    }
}

# --- file storage -----------------------------------------------------------
# Files (uploads, reports, imports): local disk under the data folder, outside any web root
# (no URL serves it: files leave only through authorised views), or S3 when a bucket is set.
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "media")},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default="") or None,  # MinIO, R2, ...
            "region_name": env("AWS_S3_REGION_NAME", default="") or None,
            "file_overwrite": False,  # keys are uuids; never replace an object
            "default_acl": None,  # private: the bucket's policy (no public-read)
            "querystring_expire": 300,
            "signature_version": "s3v4",
        },
    }  # credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (boto3's usual chain)
