"""Original file names: untrusted input, kept only as sanitised metadata.

Storage keys never come from a name (see storage.key_make). The name is
checked and cleaned before anything else happens:

- refused (`400 filename_invalid`): a NUL byte (`shell.php\\0.png`), a `..`
  path component, more than MAX_NAME_CHARS characters, nothing left after
  cleaning;
- cleaned: directory parts dropped (`C:\\fakepath\\a.png` → `a.png`), control
  and bidirectional-override characters removed, surrounding spaces and dots
  trimmed, Unicode normalised (NFC).
"""

from __future__ import annotations

import html
import re
import unicodedata

from ..errors import FilenameInvalid

MAX_NAME_CHARS = 255  # what file systems allow; longer names are never a real file's
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"))


def filename_clean(raw: str | None) -> str:
    """The name to keep, or FilenameInvalid."""
    if raw is None:
        raise FilenameInvalid(details={"reason": "missing"})
    name = html.unescape(str(raw))
    if "\x00" in name:
        raise FilenameInvalid(details={"reason": "nul_byte"})
    if len(name) > MAX_NAME_CHARS:
        raise FilenameInvalid(details={"reason": "too_long", "max_chars": MAX_NAME_CHARS, "chars": len(name)})
    parts = re.split(r"[\\/]", name)
    if any(part.strip() == ".." for part in parts):
        raise FilenameInvalid(details={"reason": "path_traversal"})
    name = unicodedata.normalize("NFC", parts[-1]).translate(_BIDI)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")  # control, format, unassigned
    name = name.strip().strip(".").strip()
    if not name:
        raise FilenameInvalid(details={"reason": "empty"})
    return name


def extension_of(name: str) -> str:
    """`photo.JPG` → `jpg`; no extension → ''."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""
