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
from typing import IO, Union

from PIL import Image, ImageCms, UnidentifiedImageError

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
_CORRUPT = "The image is truncated or corrupt."

Source = Union[str, os.PathLike, IO[bytes]]


class InvalidImage(Exception):
    """The input is not an image this platform accepts. The message is safe to show
    to the uploader; `reason` is one of "not_an_image" (a format outside
    ACCEPTED_FORMATS, or no image at all), "too_many_pixels", "corrupt"."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


def image_process(src: Source, *, max_side: int = 800, quality: int = 80) -> tuple[bytes, int, int]:
    """Decode `src` (a path or a binary file object), fit it in `max_side`×`max_side`
    and return `(jpeg_bytes, width, height)` of the output. Raises InvalidImage."""
    if max_side < 1:
        raise ValueError("max_side must be at least 1")
    if not 1 <= quality <= 100:
        raise ValueError("quality must be between 1 and 100")
    decoded = _decode(src, max_side)
    im = decoded.image
    try:
        im = _to_processable_mode(im)
        size = _fit(im.size, max_side)
        if size != im.size:
            # After shrink-on-load the rest is under 2×: a plain Lanczos. Otherwise an
            # integer box reduction first, as long as Lanczos still does the last 3×.
            im = im.resize(size, Image.Resampling.LANCZOS,
                           reducing_gap=None if decoded.drafted else _REDUCING_GAP)
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


@dataclass
class _Decoded:
    image: Image.Image
    drafted: bool  # decoded at reduced scale (JPEG shrink-on-load)
    orientation: int  # EXIF orientation, 1 when absent
    icc: bytes | None  # the embedded ICC profile


def _decode(src: Source, max_side: int) -> _Decoded:
    """Open, check and load the image (at reduced scale for a JPEG): every failure of
    untrusted data ends here as InvalidImage."""
    try:
        im = Image.open(src, formats=ACCEPTED_FORMATS)
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
        if im.format in ("JPEG", "MPO"):
            # Shrink-on-load: libjpeg decodes at 1/2, 1/4 or 1/8 scale, the smallest
            # that is still >= the target, so the final resize only ever reduces.
            target = _fit(im.size, max_side)
            if target != im.size:
                drafted = im.draft("RGB", target) is not None
        im.load()
        icc = im.info.get("icc_profile") or None
        try:
            orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1))
        except Exception:  # a broken EXIF block does not make a broken image
            orientation = 1
        return _Decoded(im, drafted, orientation, icc)
    except InvalidImage:
        im.close()
        raise
    except Exception as exc:  # truncated data (OSError), broken chunks (SyntaxError, ValueError)...
        im.close()
        raise InvalidImage(_CORRUPT, reason="corrupt") from exc


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

