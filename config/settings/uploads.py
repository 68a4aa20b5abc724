"""What comes in: request bodies, uploaded files (uploads/), bulk imports (imports/)."""

from __future__ import annotations

from config.env import env

from .base import DATA_DIR

# Every request body has a limit known before it is read (common/body_limits.py): uploads the
# tenant's, /api/imports IMPORTS["MAX_BYTES"], any other body (JSON, forms) this. Over it: 413.
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES  # Django's own check on non-file data agrees
# Multipart bodies are streamed here (next to the local storage: storing is a rename). It must
# exist for Django's checks (files.E001): config/devstack makes it, a deployment provisions it.
FILE_UPLOAD_TEMP_DIR = env("FILE_UPLOAD_TEMP_DIR", default=str(DATA_DIR / "tmp"))
UPLOADS = {
    "STORAGE": "default",  # the STORAGES alias holding uploaded objects
    "CLAMAV_URL": env("CLAMAV_URL", default=""),  # unix:///run/clamav/clamd.ctl or tcp://host:3310; unset: EICAR only
    "PRESIGN_EXPIRES_SECONDS": 300,
    "DOWNLOAD_URL_EXPIRES_SECONDS": env.int("UPLOADS_DOWNLOAD_URL_EXPIRES_SECONDS", default=60),  # S3 redirects
    "MAX_FILES_PER_REQUEST": 10,  # POST /api/upload/multiple
    "IMAGE_MAX_SIDE": env.int("UPLOADS_IMAGE_MAX_SIDE", default=800),
    "IMAGE_QUALITY": env.int("UPLOADS_IMAGE_QUALITY", default=80),
    # POST /api/upload/image: an image of more pixels than this (width × height, read from its header)
    # is processed by the `uploads.image_process` job (202) instead of in the request (201).
    # 12 Mpx keeps a 4000×3000 photo (~55 ms) in the request.
    "IMAGE_INLINE_MAX_PIXELS": env.int("UPLOADS_IMAGE_INLINE_MAX_PIXELS", default=12_000_000),
    # An image whose pixels decoded (width × height × bands × bytes per band; a JPEG at the
    # scale it is decoded at) exceed this is refused (422 invalid_image, too_many_bytes),
    # whatever its pixel count: 16-bit and alpha bands multiply the pixel limit (uploads/pipeline/images.py).
    "IMAGE_MAX_DECODED_MB": env.int("UPLOADS_IMAGE_MAX_DECODED_MB", default=128),
    "ABANDONED_AFTER_SECONDS": 3600,  # presigns never confirmed, files stuck pending: removed after this
}
IMPORTS = {
    "MAX_BYTES": env.int("IMPORT_MAX_BYTES", default=1024 * 1024),  # one upload
    "MAX_ROWS": env.int("IMPORT_MAX_ROWS", default=5000),  # rows of one file (each is one transaction)
}
