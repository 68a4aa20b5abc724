"""Receiving a multipart body without ever holding it in memory.

`LimitedUploadHandler` is the only upload handler of the upload views (set
before the body is parsed). For each file part of an expected field it writes
the bytes to a temporary file as they arrive, counts them and hashes them
(SHA-256); the moment a file passes the tenant's limit it raises
`file_too_large`, so the rest of the body is never read into a file. More file
parts than allowed raise `too_many_files` as the first extra part begins.

The temporary files live in FILE_UPLOAD_TEMP_DIR (next to the local storage, so
storing one is a rename) and are deleted when the request ends.

`on_head(upload, name=, head=)`, when given, is called once a file's first
HEAD_BYTES are in; what it returns (a stream: `grew(size, complete=)`,
`cancel()`) is told of every byte written after and cancelled when the file is
dropped or closed (image_streaming.py: the image endpoint's decode
while the body arrives).
"""

from __future__ import annotations

import hashlib
import os

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

from ..errors import FileTooLarge, TooManyFiles
from .sniffing import HEAD_BYTES


class StreamedUpload(TemporaryUploadedFile):
    """A received file: on disk, with its size, SHA-256 and first bytes."""

    sha256: str = ""
    head: bytes = b""
    image_stream = None  # what on_head started (image_streaming.ImageStream)

    def close(self):
        if self.image_stream is not None:
            self.image_stream.cancel()
        return super().close()


class LimitedUploadHandler(FileUploadHandler):
    chunk_size = 256 * 1024

    def __init__(self, request=None, *, fields: tuple[str, ...], max_bytes: int, max_files: int = 1, on_head=None):
        super().__init__(request)
        self.fields, self.max_bytes, self.max_files = fields, max_bytes, max_files
        self.on_head = on_head
        self.files_seen = 0
        self.current: StreamedUpload | None = None

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        if field_name not in self.fields:
            raise SkipFile()  # not ours: never written anywhere
        self.files_seen += 1
        if self.files_seen > self.max_files:
            raise TooManyFiles(details={"max_files": self.max_files, "field": field_name})
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        if content_length is not None and content_length > self.max_bytes:
            raise FileTooLarge(details={"file": file_name, "max_bytes": self.max_bytes})
        os.makedirs(settings.FILE_UPLOAD_TEMP_DIR, exist_ok=True)
        self.current = StreamedUpload(file_name, content_type, 0, charset, content_type_extra)
        self.hasher = hashlib.sha256()
        self.received = 0
        self.head = bytearray()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.current.close()  # deletes the partial file
            raise FileTooLarge(details={"file": self.file_name, "max_bytes": self.max_bytes})
        self.hasher.update(raw_data)
        head_was_short = len(self.head) < HEAD_BYTES
        if head_was_short:
            self.head += raw_data[: HEAD_BYTES - len(self.head)]
        upload = self.current
        upload.write(raw_data)
        if head_was_short and len(self.head) >= HEAD_BYTES and self.on_head is not None:
            upload.image_stream = self.on_head(upload, name=self.file_name, head=bytes(self.head))
        if upload.image_stream is not None:
            upload.flush()  # the stream reads the file by its descriptor
            upload.image_stream.grew(self.received)
        return None  # consumed: no other handler sees the bytes

    def discard(self) -> None:
        """Drop the file being received (the body failed midway: the client left, a check refused it)."""
        if self.current is not None:
            self.current.close()  # deletes the partial file
            self.current = None

    def file_complete(self, file_size):
        upload, self.current = self.current, None
        upload.seek(0)  # (flushes what is buffered)
        if upload.image_stream is not None:
            upload.image_stream.grew(file_size, complete=True)
        upload.size = file_size
        upload.sha256 = self.hasher.hexdigest()
        upload.head = bytes(self.head)
        return upload
