"""Image processing for uploads: one untrusted image in, one small clean JPEG out.

`image_process(src)` reads a JPEG, PNG or WebP (see ACCEPTED_FORMATS), refuses
anything else, and returns JPEG bytes that fit `max_side`×`max_side`:

- The format is decided by the content, and only Pillow's JPEG, PNG and WebP
  decoders are ever tried on it: SVG, HTML, GIF, TIFF, BMP, PSD... are not
  "images" here, whatever their name says. GIF is left out on purpose: it is
  mostly animations (one frame of which would be a surprise), and it is not in
  the tenants' default `allowed_file_types`. A multi-picture JPEG from a phone
  (Pillow calls it MPO) is a JPEG: its first picture is used, as is the first
  frame of an animated PNG or WebP.
- Pixel floods are refused before any pixel is decoded: a declared size over
  `Image.MAX_IMAGE_PIXELS` (89.5 Mpx unless the process changed it) is an
  InvalidImage. That is the threshold at which Pillow only *warns*
  (DecompressionBombWarning, an error from 2× on), so here the warning's
  threshold is the error's. It is checked explicitly rather than with a
  `warnings` filter, which is process-wide and not thread-safe under a
  threaded server.
- Byte floods too: the pixels as decoded, width × height × bands × bytes per
  band (16-bit PNGs take 2 bytes a band; a JPEG counts at the scale it is
  decoded at, below), may not exceed `max_decoded_bytes()`
  (settings.UPLOADS["IMAGE_MAX_DECODED_MB"], 128 MiB by default): a 9400×9400
  RGBA PNG is under the pixel limit but 353 MB of pixels, and is refused.
- Memory does not grow with the image where the format allows it: a JPEG is
  decoded at reduced scale (below); a PNG (8-bit, 1-bit and 16-bit grey, not
  interlaced, not animated, not so wide that one strip would pass 4 MiB) is
  decoded and reduced in strips (uploads/pipeline/image_strips.py). A WebP, and the
  other PNGs, are decoded whole,
  which a quarter of the byte bound limits (WHOLE_DECODE_SHARE).
  Worst case per image at the defaults (max_side 800, 128 MiB), measured as the
  growth of a fresh process's peak RSS (tests/uploads/test_image_memory.py):
  ~20 MB for any JPEG (89 Mpx decoded at 1/8), ~60 MB for any PNG going in
  strips (the same for 3000² as for 9400²), ~180 MB for a WebP at its bound
  (32 MiB of pixels: ~11 Mpx RGB) or a PNG decoded whole (~75 MB).
- Truncated or corrupt data is an InvalidImage (Pillow's LOAD_TRUNCATED_IMAGES
  is left off).
- EXIF orientation is applied to the pixels; nothing of the input's metadata
  reaches the output (EXIF with GPS, XMP, comments, the ICC profile): an
  image with an ICC profile is converted to sRGB first, so colours hold.
- Transparency is flattened onto white (JPEG has no alpha); small images are
  not enlarged.

Speed: a JPEG is decoded at reduced scale (libjpeg's DCT scaling through
`Image.draft`), to the smallest of 1/2, 1/4 or 1/8 that is still at least the
target size, then resized with Lanczos. That is what sharp does by default
(`fastShrinkOnLoad`), with the same result: on a 4000×3000 photo the pixels of
both are 47.8 dB PSNR from a full-resolution Lanczos resize, and the whole call
takes about as long as sharp's (see benchmarks/images.py and its README figures).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageCms, UnidentifiedImageError

from . import image_strips

# Pillow format names tried on the content, and accepted once identified (MPO is
# the JPEG plugin's name for a multi-picture JPEG).
ACCEPTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP")
_IDENTIFIED_AS_ACCEPTED = frozenset(ACCEPTED_FORMATS) | {"MPO"}

OUTPUT_FORMAT = "JPEG"
_EXIF_ORIENTATION = 0x0112
# EXIF orientation -> the transpose that makes the pixels upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# A non-JPEG source is first box-reduced by an integer factor while the rest of the
# reduction stays >= this; Pillow documents 3.0 as indistinguishable from a plain resize.
_REDUCING_GAP = 3.0

_NOT_AN_IMAGE = "Not a JPEG, PNG or WebP image."
_TOO_MANY_PIXELS = "The image has too many pixels."
_TOO_MANY_BYTES = "The image is too large once decoded."
DEFAULT_MAX_DECODED_MB = 128
WHOLE_DECODE_SHARE = 4  # an image decoded whole gets this fraction of the byte bound (decoded_bytes_limit)
# Bytes per band of each mode Pillow opens a JPEG, PNG or WebP in (16-bit PNG greys: I;16).
_BAND_BYTES = {"I;16": 2, "I;16B": 2, "I;16L": 2, "I": 4, "F": 4}
_CORRUPT = "The image is truncated or corrupt."

Source = str | os.PathLike | IO[bytes]


class InvalidImage(Exception):
    """The input is not an image this platform accepts. The message is safe to show
    to the uploader; `reason` is one of "not_an_image" (a format outside
    ACCEPTED_FORMATS, or no image at all), "too_many_pixels", "too_many_bytes", "corrupt"."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


def image_process(
    src: Source, *, max_side: int = 800, quality: int = 80, formats: tuple[str, ...] = ACCEPTED_FORMATS
) -> tuple[bytes, int, int]:
    """Decode `src` (a path or a binary file object), fit it in `max_side`×`max_side`
    and return `(jpeg_bytes, width, height)` of the output. Raises InvalidImage.
    `formats` (some of ACCEPTED_FORMATS): the only decoders tried, e.g. the one of
    the upload's extension; the whole stream is decoded, so a truncated or corrupt
    image never gets through (the upload endpoint's structure check for a JPEG or WebP)."""
    if max_side < 1:
        raise ValueError("max_side must be at least 1")
    if not 1 <= quality <= 100:
        raise ValueError("quality must be between 1 and 100")
    if not formats or not set(formats) <= set(ACCEPTED_FORMATS):
        raise ValueError(f"formats must be some of {ACCEPTED_FORMATS}")
    decoded = _decode(src, max_side, formats)
    im = decoded.image
    try:
        im = _to_processable_mode(im)
        size = _fit(decoded.size, max_side)
        if decoded.box is not None:  # reduced in strips: Lanczos over the area the reduced pixels cover
            im = im.resize(size, Image.Resampling.LANCZOS, box=decoded.box)
        elif size != im.size:
            # After shrink-on-load the rest is under 2×: a plain Lanczos. Otherwise an
            # integer box reduction first, as long as Lanczos still does the last 3×.
            im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=None if decoded.drafted else _REDUCING_GAP)
        orientation = decoded.orientation
        if orientation in _TRANSPOSE:
            im = im.transpose(_TRANSPOSE[orientation])
        im = _flatten(im)
        if decoded.icc and im.mode in ("RGB", "CMYK"):
            im = _to_srgb(im, decoded.icc)
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        im.info = {}  # nothing of the input's metadata may be written out
        out = io.BytesIO()
        im.save(out, OUTPUT_FORMAT, quality=quality, optimize=True)
        return out.getvalue(), im.width, im.height
    finally:
        decoded.image.close()  # releases the file too, for a path source


def image_pixels(src: Source) -> int:
    """width × height as the image's header declares it (no pixel is decoded): how
    the upload endpoint decides between processing in the request and in a job."""
    try:
        with Image.open(src, formats=ACCEPTED_FORMATS) as im:
            if im.format not in _IDENTIFIED_AS_ACCEPTED:
                raise InvalidImage(_NOT_AN_IMAGE, reason="not_an_image")
            return im.width * im.height
    except UnidentifiedImageError as exc:
        raise InvalidImage(_NOT_AN_IMAGE, reason="not_an_image") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage(_TOO_MANY_PIXELS, reason="too_many_pixels") from exc
    except InvalidImage:
        raise
    except Exception as exc:
        raise InvalidImage(_CORRUPT, reason="corrupt") from exc


def max_decoded_bytes() -> int | None:
    """settings.UPLOADS["IMAGE_MAX_DECODED_MB"] in bytes (None: no byte bound)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        mb = settings.UPLOADS.get("IMAGE_MAX_DECODED_MB", DEFAULT_MAX_DECODED_MB)
    except (ImproperlyConfigured, AttributeError):  # used outside Django (benchmarks, scripts)
        mb = DEFAULT_MAX_DECODED_MB
    return None if mb is None else int(mb * 1024 * 1024)


def decoded_bytes(im: Image.Image) -> int:
    """width × height × bands × bytes per band of `im` decoded (at its draft scale, for a JPEG)."""
    width, height = im.size
    bands = len(im.getbands())
    if im.info.get("transparency") is not None and im.mode in ("P", "L", "RGB"):
        bands = 4 if im.mode == "P" else bands + 1  # the palette or colour key becomes an alpha band
    per_band = _BAND_BYTES.get(im.mode, 1)
    if im.tile and str(im.tile[0].args).endswith(";16B") and per_band == 1:
        per_band = 2  # 16-bit colour PNG: Pillow inflates and unpacks 2 bytes a band
    return width * height * bands * per_band


def decoded_bytes_limit(*, whole: bool) -> int | None:
    """The byte bound; a quarter of it for an image decoded whole (a WebP, a PNG that
    cannot go in strips), which costs about 5× its pixels' bytes at its peak (the
    decoder's buffer, Pillow's 4-byte pixels, the conversions)."""
    limit = max_decoded_bytes()
    return None if limit is None else (limit // WHOLE_DECODE_SHARE if whole else limit)


def _in_strips(im: Image.Image, target: tuple[int, int]) -> bool:
    return target != im.size and image_strips.strips_possible(im, target)


def decoded_whole(im: Image.Image, *, max_side: int) -> bool:
    """Whether image_process(max_side=...) decodes this (opened, not loaded) PNG or WebP
    whole rather than in strips: upload validation applies the same bound as the job."""
    return not _in_strips(im, _fit(im.size, max_side))


def decoded_bytes_check(im: Image.Image, *, whole: bool) -> None:
    """InvalidImage(too_many_bytes) when `im` decoded would exceed the byte bound."""
    limit = decoded_bytes_limit(whole=whole)
    if limit is not None and decoded_bytes(im) > limit:
        raise InvalidImage(_TOO_MANY_BYTES, reason="too_many_bytes")


@dataclass
class _Decoded:
    image: Image.Image
    drafted: bool  # decoded at reduced scale (JPEG shrink-on-load)
    orientation: int  # EXIF orientation, 1 when absent
    icc: bytes | None  # the embedded ICC profile
    size: tuple[int, int]  # the source's size (the image may be smaller: draft, strips)
    box: tuple[float, float, float, float] | None = None  # reduced in strips: the area it covers


def _decode(src: Source, max_side: int, formats: tuple[str, ...]) -> _Decoded:
    """Open, check and load the image (at reduced scale for a JPEG): every failure of
    untrusted data ends here as InvalidImage."""
    try:
        im = Image.open(src, formats=formats)
    except UnidentifiedImageError as exc:
        raise InvalidImage(_NOT_AN_IMAGE, reason="not_an_image") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage(_TOO_MANY_PIXELS, reason="too_many_pixels") from exc
    except Exception as exc:  # a corrupt header: decoders raise all sorts
        raise InvalidImage(_CORRUPT, reason="corrupt") from exc
    try:
        if im.format not in _IDENTIFIED_AS_ACCEPTED:
            raise InvalidImage(_NOT_AN_IMAGE, reason="not_an_image")
        width, height = im.size
        limit = Image.MAX_IMAGE_PIXELS
        if width < 1 or height < 1 or (limit is not None and width * height > limit):
            raise InvalidImage(_TOO_MANY_PIXELS, reason="too_many_pixels")
        drafted = False
        target = _fit(im.size, max_side)
        if im.format in ("JPEG", "MPO") and target != im.size:
            # Shrink-on-load: libjpeg decodes at 1/2, 1/4 or 1/8 scale, the smallest
            # that is still >= the target, so the final resize only ever reduces.
            drafted = im.draft("RGB", target) is not None
        in_strips = _in_strips(im, target)
        # A JPEG counts at the scale it is decoded at; only what is decoded whole gets the smaller share.
        decoded_bytes_check(im, whole=not in_strips and im.format not in ("JPEG", "MPO"))
        if in_strips:
            return _decode_in_strips(src, im, target)
        im.load()
        icc = im.info.get("icc_profile") or None
        return _Decoded(im, drafted, _orientation(im.getexif), icc, (width, height))
    except InvalidImage:
        im.close()
        raise
    except Exception as exc:  # truncated data (OSError), broken chunks (SyntaxError, ValueError)...
        im.close()
        raise InvalidImage(_CORRUPT, reason="corrupt") from exc


def _orientation(exif_get) -> int:
    try:
        return int(exif_get().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block does not make a broken image
        return 1


def _decode_in_strips(src: Source, im: Image.Image, target: tuple[int, int]) -> _Decoded:
    """A large PNG, read again from its start in strips (image_strips): `im` is only
    the opened header. Failures propagate to _decode, which makes them InvalidImage."""
    own = isinstance(src, (str, os.PathLike))
    fp = open(src, "rb") if own else src
    try:
        if not own:
            fp.seek(0)
        reduced = image_strips.png_reduce_in_strips(fp, im, target, _to_processable_mode)
    finally:
        if own:
            fp.close()
    info, size = dict(im.info), im.size
    im.close()
    if reduced.exif:
        info["exif"] = reduced.exif
    reduced.image.info = info  # getexif reads the orientation from it as from the PNG (eXIf, raw profile, XMP)
    return _Decoded(
        reduced.image, False, _orientation(reduced.image.getexif), info.get("icc_profile") or None, size, reduced.box
    )


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size that fits `max_side`×`max_side` keeping the aspect ratio; never larger."""
    width, height = size
    scale = min(max_side / width, max_side / height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_processable_mode(im: Image.Image) -> Image.Image:
    """Modes that resize with Lanczos and convert to RGB faithfully: L, LA, RGB, RGBA, CMYK."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        converted = im
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        converted = im.convert("RGBA" if has_alpha else "RGB")
    elif mode.startswith("I;16") or mode == "I":  # 16-bit greyscale PNG: scale, do not clip
        converted = im.convert("I").point(lambda value: value / 257).convert("L")
    elif mode == "1":
        converted = im.convert("L")
    else:  # YCbCr, LAB, ...
        converted = im.convert("RGB")
    return converted


def _flatten(im: Image.Image) -> Image.Image:
    """Transparency onto white: JPEG has no alpha."""
    if im.mode not in ("LA", "RGBA"):
        return im
    background = Image.new(im.mode[:-1], im.size, 255 if im.mode == "LA" else (255, 255, 255))
    background.paste(im, mask=im.getchannel("A"))
    background.info = im.info
    return background


def _to_srgb(im: Image.Image, icc: bytes) -> Image.Image:
    """RGB or CMYK pixels from their embedded ICC profile to sRGB. A profile LittleCMS
    cannot use, or one for another colour space, is ignored (as if there were none)."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        # Built per call: LittleCMS profile handles are not shared across threads.
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        converted = ImageCms.profileToProfile(im, source, srgb, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im
    return converted if converted is not None else im
