"""What a file is, from its first bytes (never from the client's Content-Type).

Binary formats are recognised by their signatures (`filetype`, pure Python: no
libmagic needed on the machine). Anything else is text if it decodes as UTF-8
without NUL bytes; text that starts with `<` is markup (HTML, SVG, XML), which
no extension the platform accepts may carry.
"""

from __future__ import annotations

from dataclasses import dataclass

import filetype

HEAD_BYTES = 8192  # what the sniffers read

MARKUP = "text/html"
TEXT = "text/plain"


@dataclass(frozen=True)
class FileKind:
    mime: str  # what downloads are served as
    sniffed: str  # what the content must sniff as
    pillow_format: str | None = None  # images: the one decoder allowed to open it


# Every type a tenant may allow (tenants.settings_schema.FILE_TYPES), by extension.
KINDS: dict[str, FileKind] = {
    "jpg": FileKind("image/jpeg", "image/jpeg", "JPEG"),
    "jpeg": FileKind("image/jpeg", "image/jpeg", "JPEG"),
    "png": FileKind("image/png", "image/png", "PNG"),
    "gif": FileKind("image/gif", "image/gif", "GIF"),
    "webp": FileKind("image/webp", "image/webp", "WEBP"),
    "pdf": FileKind("application/pdf", "application/pdf"),
    "txt": FileKind("text/plain", TEXT),
    "csv": FileKind("text/csv", TEXT),
}
IMAGE_EXTENSIONS = {ext for ext, kind in KINDS.items() if kind.pillow_format}
_SAME = {"image/apng": "image/png"}  # an animated PNG is a PNG


def sniff(head: bytes, *, complete: bool) -> str | None:
    """The MIME type the bytes show; None when they show nothing we know.
    `complete`: `head` is the whole file (so a multi-byte character cut at the end is an error)."""
    if not head:
        return None
    kind = filetype.guess(head)
    if kind is not None:
        return _SAME.get(kind.mime, kind.mime)
    return _text_kind(head, complete=complete)


def _text_kind(head: bytes, *, complete: bool) -> str | None:
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if complete or exc.start < len(head) - 3:  # not just a character cut by the head's end
            return None
        text = head[: exc.start].decode("utf-8")
    if text.lstrip("\ufeff \t\r\n\f").startswith("<"):
        return MARKUP
    return TEXT
