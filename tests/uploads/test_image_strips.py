"""uploads.pipeline.image_strips: a large PNG reduced in strips is the same image as the PNG decoded
whole and reduced, pixel for pixel, for every row filter and every kind of PNG it takes;
what it cannot do exactly it leaves to the whole decode, and bad data is refused.

The PNGs are written by hand here, each row with a filter chosen by the test (Pillow's
encoder picks its own), with pixels that vary from row to row, so a strip that joined its
neighbour wrongly shows in the pixels. STRIP_BYTES is made small: many strips, many joins.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image

from uploads.pipeline import image_strips
from uploads.pipeline.images import InvalidImage, _fit, _to_processable_mode, image_process

SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
FILTERS = (0, 1, 2, 3, 4, 4, 2, 3, 1)  # None, Sub, Up, Average, Paeth: each row the next of these


@pytest.fixture(autouse=True)
def small_strips(monkeypatch):
    monkeypatch.setattr(image_strips, "STRIP_BYTES", 16_000)


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filtered(rows: list[bytes], bpp: int) -> bytes:
    prior, out = bytes(len(rows[0])), bytearray()
    for y, row in enumerate(rows):
        kind = FILTERS[y % len(FILTERS)]
        out.append(kind)
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prior[i]
            c = prior[i - bpp] if i >= bpp else 0
            out.append((x - (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]) & 0xFF)
        prior = row
    return bytes(out)


def png(
    width: int,
    height: int,
    *,
    bits: int = 8,
    colour: int = 6,
    seed: int = 1,
    padding: int = 0,
    before_idat: bytes = b"",
) -> bytes:
    """A PNG of varied pixels (`padding`: the value of the unused low bits ending each row)."""
    rnd = random.Random(seed)
    row_bits = width * bits * SAMPLES[colour]
    rows = []
    for y in range(height):
        row = bytearray(
            rnd.getrandbits(8) if rnd.random() < 0.5 else (3 * y + i) & 0xFF for i in range((row_bits + 7) // 8)
        )
        if colour == 3:
            row = bytearray(v % 16 for v in row)  # indices into a 16-colour palette
        if row_bits % 8:
            unused = 8 - row_bits % 8
            row[-1] = (row[-1] & (0xFF << unused) & 0xFF) | (padding & ((1 << unused) - 1))
        rows.append(bytes(row))
    palette = b""
    if colour == 3:
        palette = chunk(b"PLTE", bytes(rnd.getrandbits(8) for _ in range(48))) + chunk(
            b"tRNS", bytes(rnd.getrandbits(8) for _ in range(16))
        )
    data = zlib.compress(filtered(rows, max(1, bits * SAMPLES[colour] // 8)), 9)
    idats = b"".join(chunk(b"IDAT", data[i : i + 1000]) for i in range(0, len(data), 1000))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bits, colour, 0, 0, 0))
        + palette
        + before_idat
        + idats
        + chunk(b"IEND", b"")
    )


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=["PNG"])


def in_strips(data: bytes, max_side: int) -> Image.Image:
    im = opened(data)
    target = _fit(im.size, max_side)
    assert image_strips.strips_possible(im, target)
    return image_strips.png_reduce_in_strips(io.BytesIO(data), im, target, _to_processable_mode).image


def whole_reduced(data: bytes, max_side: int) -> Image.Image:
    im = opened(data)
    factors = image_strips.reduce_factor(im.size, _fit(im.size, max_side))
    return _to_processable_mode(im).reduce(factors)


@pytest.mark.parametrize(
    ("bits", "colour"),
    [(8, 0), (8, 2), (8, 3), (8, 4), (8, 6), (1, 0), (16, 0)],
    ids=["grey", "rgb", "palette-with-trns", "grey-alpha", "rgba", "1-bit", "16-bit-grey"],
)
@pytest.mark.parametrize("size", [(203, 157), (64, 301)], ids=["wide", "tall"])
def test_a_png_reduced_in_strips_has_the_pixels_of_the_png_decoded_whole_and_reduced(bits, colour, size):
    width = size[0] if bits != 1 else 200  # a 1-bit row must end on a byte (below)
    data = png(width, size[1], bits=bits, colour=colour)

    strips, whole = in_strips(data, 40), whole_reduced(data, 40)

    assert strips.mode == whole.mode and strips.size == whole.size
    assert strips.tobytes() == whole.tobytes()


def test_a_1_bit_png_whose_rows_end_mid_byte_is_left_to_the_whole_decode():
    """Its padding bits (here all ones) are carried into pixels by the next row's filter;
    a strip's first row would be filtered against a re-encoded row that has them as zeros."""
    im = opened(png(203, 157, bits=1, colour=0, padding=0xFF))

    assert not image_strips.strips_possible(im, _fit(im.size, 40))


def test_a_png_so_wide_that_one_box_of_rows_passes_the_strip_size_is_left_to_the_whole_decode():
    im = opened(png(2000, 400, colour=6))  # 8 kB rows; reduced to 40 px wide: boxes of 50 rows, 400 kB

    assert not image_strips.strips_possible(im, _fit(im.size, 40))
    assert image_strips.strips_possible(im, _fit(im.size, 1500))  # boxes of 1 row


def test_interlaced_and_16_bit_colour_pngs_are_left_to_the_whole_decode():
    ihdr = struct.pack(">IIBBBBB", 300, 300, 8, 2, 0, 0, 1)  # Adam7 (its header is all that is read here)
    interlaced = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    deep = png(300, 300, bits=16, colour=2)

    for data in (interlaced, deep):
        im = opened(data)
        assert not image_strips.strips_possible(im, _fit(im.size, 40)), im.info


@pytest.mark.parametrize("damage", ["cut_in_the_pixels", "bad_idat_crc", "not_deflate", "unknown_filter"])
def test_damaged_pixel_data_is_refused_as_corrupt(damage):
    data = png(203, 157)
    if damage == "cut_in_the_pixels":
        data = data[: len(data) // 2]
    elif damage == "bad_idat_crc":
        at = data.index(b"IDAT") + 4 + 100
        data = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
    elif damage == "not_deflate":
        ihdr = struct.pack(">IIBBBBB", 203, 157, 8, 6, 0, 0, 0)
        data = (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", b"\x78\x9c" + b"\xff" * 500)
            + chunk(b"IEND", b"")
        )
    else:
        rows = b"".join(b"\x05" + bytes(203 * 4) for _ in range(157))
        ihdr = struct.pack(">IIBBBBB", 203, 157, 8, 6, 0, 0, 0)
        data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    assert image_strips.strips_possible(opened(data), (40, 31))

    with pytest.raises(InvalidImage) as refused:
        image_process(io.BytesIO(data), max_side=40)
    assert refused.value.reason == "corrupt"


def test_pixel_data_beyond_the_last_row_is_not_inflated():
    """A deflate stream of many times the rows' bytes (a bomb): inflated up to the rows, no further."""
    rows = b"".join(b"\x00" + bytes(203 * 4) for _ in range(157))
    ihdr = struct.pack(">IIBBBBB", 203, 157, 8, 6, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows * 200, 9)) + chunk(b"IEND", b"")
    )
    real_decompressobj, inflated = zlib.decompressobj, []

    class Counting:
        def __init__(self):
            self.inner = real_decompressobj()

        def decompress(self, data, max_length=0):
            out = self.inner.decompress(data, max_length)
            inflated.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self.inner, name)

    image_strips.zlib.decompressobj = Counting
    try:
        reduced = in_strips(data, 40)
    finally:
        image_strips.zlib.decompressobj = real_decompressobj

    assert reduced.size == (41, 32)
    assert sum(inflated) == len(rows)


def test_a_png_reduced_in_strips_is_turned_upright_by_its_orientation_wherever_it_is_recorded():
    """eXIf (before or after the pixels) and XMP, as Pillow reads them from a PNG decoded whole."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to show
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="6"/></x:xmpmeta>'
    itxt = chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp)
    before = png(300, 100, before_idat=chunk(b"eXIf", exif.tobytes()))
    after = png(300, 100)
    after = after[:-12] + chunk(b"eXIf", exif.tobytes()) + after[-12:]
    in_xmp = png(300, 100, before_idat=itxt)

    for data in (before, after, in_xmp):
        im = opened(data)
        assert image_strips.strips_possible(im, _fit(im.size, 60))
        _, width, height = image_process(io.BytesIO(data), max_side=60)
        assert (width, height) == (20, 60)
