"""Reducing a large PNG in horizontal strips, so memory does not grow with the image.

Pillow decodes a PNG whole: a 343 KB PNG of 9400×9400 all-zero RGBA pixels becomes
353 MB of pixels before anything can shrink it. libjpeg has shrink-on-load
(`Image.draft`); PNG has nothing like it. So for the common PNGs (8-bit L, LA,
RGB, RGBA, palette; 1-bit and 16-bit grey; not interlaced, not animated) this
module reads the file's chunks itself, inflates the pixel data with a bounded
output (a deflate bomb never materialises), and hands Pillow one strip of rows at
a time as a small PNG of its own: the strip's filtered rows, preceded by the
previous strip's last row unfiltered (filter type 0), which is what the rows'
Up/Average/Paeth filters refer to. Each decoded strip is box-reduced (Image.reduce)
by the same integer factor and pasted into the reduced image: strips of a height
divisible by the factor make exactly the boxes a whole-image reduce makes.

Memory: one strip (at most STRIP_BYTES of raw rows, a few copies of it) and the
reduced image, which is under (2 × max_side)² pixels: about 40 MB at max_side 800,
whatever the size of the PNG. A strip holds at least one box's rows (the reduce
factor): a PNG so wide that those rows alone pass STRIP_BYTES is not taken here
(strips_possible), and is decoded whole under the smaller whole-decode bound.

Each strip's first row is filtered against the previous strip's last row as
Pillow re-encodes it, which is the file's own row only where every bit of it is
a pixel: a 1-bit PNG whose rows end mid-byte (the padding bits are the encoder's
to choose, and an Up/Average/Paeth filter carries them into pixels) is not taken.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from dataclasses import dataclass
from typing import IO

from PIL import Image

STRIP_BYTES = 4 * 1024 * 1024  # raw (inflated) bytes of rows per strip
READ_BYTES = 256 * 1024  # compressed bytes read at a time
# The tile rawmodes whose pixels give back the file's raw row bytes exactly (tobytes
# with that rawmode: the previous row must be re-encoded losslessly), with their bits per pixel.
STRIP_RAWMODES = {"1": 1, "L": 8, "LA": 16, "RGB": 24, "RGBA": 32, "P": 8, "I;16B": 16}
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class StripError(Exception):
    """The PNG's data is truncated or corrupt (the caller makes it an InvalidImage)."""


@dataclass
class Reduced:
    image: Image.Image  # already in the mode the strips were converted to
    box: tuple[float, float, float, float]  # the source area it covers, in reduced pixels (for resize)
    exif: bytes | None  # an eXIf chunk, wherever it was (Pillow looks for it only by loading all pixels)


def strips_possible(im: Image.Image, target: tuple[int, int]) -> bool:
    """A single-frame, non-interlaced PNG whose rows Pillow decodes losslessly, and
    whose strips, reduced to `target`, stay within STRIP_BYTES (see the module's doc)."""
    if not (
        im.format == "PNG"
        and len(im.tile) == 1
        and im.tile[0].args in STRIP_RAWMODES
        and im.tile[0].extents == (0, 0, *im.size)
        and getattr(im, "n_frames", 1) == 1
        and not im.info.get("interlace")
    ):
        return False
    width = im.size[0]
    bits = STRIP_RAWMODES[im.tile[0].args]
    if width * bits % 8:
        return False  # rows end mid-byte: the padding bits cannot be re-encoded as they were
    _, fy = reduce_factor(im.size, target)
    return fy * (width * bits // 8 + 1) <= STRIP_BYTES


def reduce_factor(size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """The largest integer box factors that keep the image at least `target` (the
    last step, a Lanczos resize, then reduces by less than 2×: JPEG's draft does the same)."""
    return max(1, size[0] // target[0]), max(1, size[1] // target[1])


def png_reduce_in_strips(fp: IO[bytes], im: Image.Image, target: tuple[int, int], convert) -> Reduced:
    """Read the PNG `im` was opened from (`fp`, at its start) strip by strip; each decoded
    strip goes through `convert` (a mode conversion) and is reduced. Raises StripError."""
    width, height = im.size
    fx, fy = reduce_factor(im.size, target)
    rawmode = im.tile[0].args
    walker = _Chunks(fp)
    ihdr = walker.ihdr
    bits, colour = ihdr[8], ihdr[9]
    row_bytes = math.ceil(width * bits * _CHANNELS[colour] / 8)
    rows_per_strip = max(fy, (STRIP_BYTES // (row_bytes + 1)) // fy * fy)  # >= fy rows: strips_possible
    strip_bytes = rows_per_strip * (row_bytes + 1)

    reduced: Image.Image | None = None
    previous: bytes | None = None  # the last row of the previous strip, unfiltered
    done_rows = 0
    for raw in walker.pixel_data(strip_bytes, total=height * (row_bytes + 1)):
        rows = len(raw) // (row_bytes + 1)
        if previous is not None:
            raw = b"\x00" + previous + raw
        strip = _decode_strip(walker, raw, width, rows + (previous is not None))
        if previous is not None:
            strip = strip.crop((0, 1, width, strip.height))
        previous = strip.crop((0, rows - 1, width, rows)).tobytes("raw", rawmode)
        part = convert(strip)
        small = part.reduce((fx, fy)) if (fx, fy) != (1, 1) else part
        if reduced is None:
            reduced = Image.new(small.mode, (math.ceil(width / fx), math.ceil(height / fy)))
        reduced.paste(small, (0, done_rows // fy))
        done_rows += rows
    if reduced is None or done_rows != height:
        raise StripError("truncated")
    return Reduced(reduced, (0, 0, width / fx, height / fy), walker.trailing_exif())


def _decode_strip(walker: _Chunks, raw: bytes, width: int, rows: int) -> Image.Image:
    ihdr = struct.pack(">II", width, rows) + walker.ihdr[8:]
    png = io.BytesIO()
    png.write(_SIGNATURE)
    for kind, data in [(b"IHDR", ihdr), *walker.palette_chunks, (b"IDAT", zlib.compress(raw, 0)), (b"IEND", b"")]:
        png.write(struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data)))
    png.seek(0)
    strip = Image.open(png, formats=["PNG"])
    strip.load()
    return strip


class _Chunks:
    """The PNG's chunks in file order, checked against their CRCs."""

    def __init__(self, fp: IO[bytes]):
        self.fp = fp
        if fp.read(8) != _SIGNATURE:
            raise StripError("not a PNG")
        kind, self.ihdr = self._chunk()
        if kind != b"IHDR" or len(self.ihdr) != 13:
            raise StripError("no IHDR")
        self.palette_chunks: list[tuple[bytes, bytes]] = []
        self.exif: bytes | None = None
        self._pending: tuple[bytes, int] | None = None  # the first IDAT's header, once met

    def _header(self) -> tuple[bytes, int]:
        head = self.fp.read(8)
        if len(head) != 8:
            raise StripError("truncated")
        length, kind = struct.unpack(">I4s", head)
        if length > 2**31 - 1:
            raise StripError("bad chunk length")
        return kind, length

    def _body(self, kind: bytes, length: int) -> bytes:
        data = self.fp.read(length)
        crc = self.fp.read(4)
        if len(data) != length or len(crc) != 4 or struct.unpack(">I", crc)[0] != zlib.crc32(kind + data):
            raise StripError("bad chunk")
        return data

    def _chunk(self) -> tuple[bytes, bytes]:
        kind, length = self._header()
        return kind, self._body(kind, length)

    def pixel_data(self, strip_bytes: int, total: int):
        """The inflated IDAT stream, `strip_bytes` at a time (the last piece shorter)."""
        while True:  # the chunks before the pixels
            kind, length = self._header()
            if kind == b"IDAT":
                break
            if kind == b"IEND":
                raise StripError("no pixel data")
            data = self._body(kind, length)
            if kind in (b"PLTE", b"tRNS"):
                self.palette_chunks.append((kind, data))
            elif kind == b"eXIf":
                self.exif = data
        inflate = zlib.decompressobj()
        buffer = bytearray()
        produced = 0
        while kind == b"IDAT":
            crc = zlib.crc32(kind)
            left = length
            while left:
                piece = self.fp.read(min(READ_BYTES, left))
                if not piece:
                    raise StripError("truncated")
                left -= len(piece)
                crc = zlib.crc32(piece, crc)
                while piece:
                    room = min(strip_bytes - len(buffer), total - produced)
                    if room <= 0:
                        break  # more data than rows: ignored, as Pillow does
                    out = inflate.decompress(piece, room)
                    piece = inflate.unconsumed_tail
                    buffer += out
                    produced += len(out)
                    if len(buffer) == strip_bytes:
                        yield bytes(buffer)
                        buffer.clear()
                    if not out and not piece:
                        break
                    if inflate.eof:
                        break
            stored = self.fp.read(4)
            if len(stored) != 4 or struct.unpack(">I", stored)[0] != crc:
                raise StripError("bad IDAT")
            kind, length = self._header()
        self._after = (kind, length)
        if buffer:
            yield bytes(buffer)

    def trailing_exif(self) -> bytes | None:
        """An eXIf chunk before the pixels, or after them (read up to IEND)."""
        if self.exif is not None:
            return self.exif
        kind, length = getattr(self, "_after", (b"IEND", 0))
        try:
            while kind != b"IEND":
                if kind == b"eXIf":
                    return self._body(kind, length)
                self.fp.seek(length + 4, io.SEEK_CUR)
                kind, length = self._header()
        except (StripError, OSError):
            return None  # metadata after the pixels: not worth refusing the image for
        return None
