"""Is this upload acceptable? Name, type by extension AND by content, image
structure, PDF active content — all decided on the received bytes, before
anything is stored. (Size is enforced while the bytes arrive: handlers.py;
malware scanning and the quota come after this, in uploads/services.py.)

    kind = upload_check(upload, name=clean_name, allowed=rules.allowed_types)

Order of the refusals, and their codes:

1. the extension is not one the tenant allows → 415 file_type_not_allowed
2. zero bytes → 400 file_empty
3. the content sniffs as something else (or as nothing) → 415 file_type_mismatch
4. an image Pillow cannot fully decode with the decoder of its extension, one
   of more pixels than Image.MAX_IMAGE_PIXELS (pixel flood), or one whose pixels
   decoded take more than UPLOADS["IMAGE_MAX_DECODED_MB"] (byte flood: 16-bit or
   alpha bands; images.decoded_bytes) → 422 invalid_image
5. a PDF with JavaScript, launch actions or embedded files → 415 file_type_not_allowed

`decode=False` leaves out only step 4's decoding of a JPEG's or WebP's pixels (the
header's bounds and a PNG's chunk checks still apply): for a caller that decodes the
image itself right after, with the same decoder and bounds (POST /api/upload/image,
images.image_process), so that the upload is decoded once.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from django.conf import settings
from PIL import Image

from ..errors import FileEmpty, FileTypeMismatch, FileTypeNotAllowed, InvalidImage
from .handlers import StreamedUpload
from .images import decoded_bytes, decoded_bytes_limit, decoded_whole
from .names import extension_of
from .sniffing import KINDS, FileKind, sniff

# PDF name objects that make a document act (scripts, launching programs, carrying files).
# `#xx` escapes in names are decoded first (`/J#61vaScript` is `/JavaScript`).
PDF_ACTIVE = {b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/RichMedia", b"/XFA"}
_PDF_NAME = re.compile(rb"/[A-Za-z0-9#]+")
_PDF_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def upload_check(upload: StreamedUpload, *, name: str, allowed: list[str], decode: bool = True) -> FileKind:
    """The kind of an acceptable upload; raises the refusal otherwise."""
    extension = extension_of(name)
    if extension not in allowed or extension not in KINDS:
        raise FileTypeNotAllowed(details={"file": name, "extension": extension, "allowed": allowed})
    if upload.size == 0:
        raise FileEmpty(details={"file": name})
    kind = KINDS[extension]
    detected = sniff(upload.head, complete=upload.size <= len(upload.head))
    if detected != kind.sniffed:
        raise FileTypeMismatch(details={"file": name, "extension": extension, "detected": detected or "unknown"})
    if kind.pillow_format:
        image_check(upload, kind.pillow_format, name=name, decode=decode)
    if extension == "pdf":
        pdf_check(upload, name=name)
    upload.seek(0)
    return kind


def image_check(fileobj: BinaryIO, pillow_format: str, *, name: str = "", decode: bool = True) -> None:
    """Decodable with exactly this decoder, to the end; not a pixel flood.
    JPEGs are decoded at 1/8 scale (the whole stream is still read); PNGs are
    verified chunk by chunk (CRCs, to IEND) without decoding pixels.
    `decode=False`: the bounds and a PNG's verification only (the caller decodes)."""
    fileobj.seek(0)
    try:
        with Image.open(fileobj, formats=[pillow_format]) as image:
            width, height = image.size
            if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
                raise InvalidImage(
                    details={
                        "file": name,
                        "reason": "too_many_pixels",
                        "width": width,
                        "height": height,
                        "max_pixels": Image.MAX_IMAGE_PIXELS,
                    }
                )
            if pillow_format == "JPEG":
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            # The bound processing will apply (images.py): a JPEG at its decoded scale, a PNG
            # that cannot be reduced in strips and a WebP (decoded whole) a quarter of it.
            whole = pillow_format != "JPEG" and decoded_whole(image, max_side=settings.UPLOADS["IMAGE_MAX_SIDE"])
            limit = decoded_bytes_limit(whole=whole)
            if limit is not None and decoded_bytes(image) > limit:  # a JPEG: at the 1/8 scale decoded here
                raise InvalidImage(
                    details={
                        "file": name,
                        "reason": "too_many_bytes",
                        "width": width,
                        "height": height,
                        "decoded_bytes": decoded_bytes(image),
                        "max_decoded_bytes": limit,
                    }
                )
            if pillow_format == "PNG":
                image.verify()
            elif decode:
                image.load()
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage(details={"file": name, "reason": "too_many_pixels"}) from None
    except Exception as exc:  # truncated (OSError), corrupt chunks (SyntaxError, ValueError), ...
        raise InvalidImage(details={"file": name, "reason": "corrupt", "error": str(exc)[:200]}) from None
    finally:
        fileobj.seek(0)


def pdf_check(fileobj: BinaryIO, *, name: str = "", chunk: int = 256 * 1024) -> None:
    """No active content in the PDF's (uncompressed) objects. Names inside compressed
    object streams are out of reach here; ClamAV (CLAMAV_URL) looks inside those."""
    fileobj.seek(0)
    tail = b""
    while data := fileobj.read(chunk):
        window = tail + data
        for match in _PDF_NAME.finditer(window):
            token = _PDF_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group())
            if token in PDF_ACTIVE:
                fileobj.seek(0)
                raise FileTypeNotAllowed(
                    "PDFs with scripts, launch actions or embedded files are not accepted.",
                    details={"file": name, "reason": "pdf_active_content", "found": token.decode("latin-1")},
                )
        tail = window[-64:]
    fileobj.seek(0)
