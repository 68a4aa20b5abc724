"""Making an upload's JPEG while its bytes still arrive (POST /api/upload/image).

A 5 MB photo takes longer to decode than to receive, so the decode starts with
the body rather than after it. Once the first HEAD_BYTES of the file part are
in, `image_stream_start` (the upload handler's `on_head`) sniffs them; when
they are the image type of the file's extension, one the tenant allows, a
thread of the upload's own runs exactly what the request would run on the
complete file — `images.image_pixels`, then `images.image_process` with that
extension's decoder only, under the same pixel and decoded-byte bounds — on a
`GrowingFile`: a reader of the temporary file the handler is writing, whose
reads wait for the bytes still to come (EOF only once the part is complete).

The outcome is a prediction until the request's own checks ran: the service
(`image_made`) takes it only after type, emptiness, sniffing and the header
bounds passed on the complete file (upload_check), and only when it was made
with the decoder of the upload's kind; otherwise it decodes the file as
before. A stream whose upload is closed or discarded (a refusal, a client that
left, the size cut-off) is cancelled: its next read raises and the thread
ends. Its CPU is the decode the request would have done anyway; Pillow
releases the GIL while it decodes, so the parser and the event loop go on.
"""

from __future__ import annotations

import os
import threading

from . import images
from .names import extension_of
from .sniffing import KINDS, sniff

DEFERRED = "deferred"  # over IMAGE_INLINE_MAX_PIXELS: no JPEG made here (the job makes it)
STALL_SECONDS = 300.0  # no byte for this long: the stream gives up (the request decodes the file itself)


class StreamCancelled(Exception):
    pass


class GrowingFile:
    """A binary reader of a file another thread is writing: `read(n)` returns n bytes
    once they are written (fewer only at the end of a complete file), seeks anywhere.
    Reads with pread on a duplicate of the writer's descriptor (its offset untouched)."""

    def __init__(self, fileobj):
        self._fd = os.dup(fileobj.fileno())
        self._pos = 0
        self._written = 0
        self._complete = False
        self.cancelled = False
        self._cond = threading.Condition()

    # the writer's side (the upload handler's thread)
    def grew(self, size: int, *, complete: bool = False) -> None:
        with self._cond:
            self._written, self._complete = size, self._complete or complete
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self.cancelled = True
            self._cond.notify_all()

    # the reader's side (the decoding thread)
    def read(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
        with self._cond:
            while not (self._complete or self.cancelled) and (size < 0 or self._written < self._pos + size):
                if not self._cond.wait(timeout=STALL_SECONDS):
                    self.cancelled = True
            if self.cancelled:
                raise StreamCancelled()
            available = max(0, self._written - self._pos)
        data = os.pread(self._fd, available if size < 0 else min(size, available), self._pos)
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END:
            with self._cond:  # only meaningful once complete: wait for it
                while not (self._complete or self.cancelled):
                    self._cond.wait(timeout=STALL_SECONDS)
            base = self._written
        else:
            base = self._pos if whence == os.SEEK_CUR else 0
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class ImageStream:
    """One upload's decode, running in its own thread over a GrowingFile."""

    def __init__(self, fileobj, pillow_format: str, *, max_side: int, quality: int, inline_max_pixels: int):
        self.pillow_format = pillow_format
        self.reader = GrowingFile(fileobj)
        self._options = (max_side, quality, inline_max_pixels)
        self._outcome = self._error = None
        self._done = threading.Event()
        try:
            threading.Thread(target=self._run, name="image-stream", daemon=True).start()
        except RuntimeError:  # no thread to be had: nothing streamed, the request decodes the file
            self.reader.close()
            self._done.set()

    def grew(self, size: int, *, complete: bool = False) -> None:
        self.reader.grew(size, complete=complete)

    def cancel(self) -> None:
        self.reader.cancel()

    def result(self):
        """`(jpeg, width, height)`, DEFERRED, or None (cancelled: decode the file instead);
        raises images.InvalidImage as image_process would on the complete file."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._outcome

    def _run(self) -> None:
        max_side, quality, inline_max_pixels = self._options
        try:
            if images.image_pixels(self.reader) > inline_max_pixels:
                self._outcome = DEFERRED
            else:
                self.reader.seek(0)
                self._outcome = images.image_process(
                    self.reader, max_side=max_side, quality=quality, formats=(self.pillow_format,)
                )
        except BaseException as exc:  # delivered to the request thread (Pillow wraps a cancelled read)
            if not self.reader.cancelled:
                self._error = exc
        finally:
            self.reader.close()
            self._done.set()


def image_stream_start(upload, *, name: str, head: bytes, allowed: list[str]) -> ImageStream | None:
    """The upload handler's `on_head` for image uploads: a stream when the first bytes
    are the image type of the (clean) name's extension and the tenant allows it."""
    from django.conf import settings

    extension = extension_of(name)
    kind = KINDS.get(extension)
    if extension not in allowed or kind is None or kind.pillow_format not in images.ACCEPTED_FORMATS:
        return None
    if sniff(head, complete=False) != kind.sniffed:
        return None
    rules = settings.UPLOADS
    return ImageStream(
        upload,
        kind.pillow_format,
        max_side=rules["IMAGE_MAX_SIDE"],
        quality=rules["IMAGE_QUALITY"],
        inline_max_pixels=rules["IMAGE_INLINE_MAX_PIXELS"],
    )


def image_made(upload, pillow_format: str, *, max_side: int, quality: int, inline_max_pixels: int):
    """What image_upload makes of a checked upload: `(jpeg, width, height)`, or DEFERRED.
    The stream's outcome when it decoded with `pillow_format`, else the complete file's.
    Raises images.InvalidImage."""
    stream = getattr(upload, "image_stream", None)
    if stream is not None:
        if stream.pillow_format == pillow_format:
            made = stream.result()
            if made is not None:
                return made
        else:
            stream.cancel()
    path = upload.temporary_file_path()
    if images.image_pixels(path) > inline_max_pixels:
        return DEFERRED
    return images.image_process(path, max_side=max_side, quality=quality, formats=(pillow_format,))
