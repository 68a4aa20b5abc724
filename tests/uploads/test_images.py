"""uploads.pipeline.images.image_process: untrusted image in, small clean upright JPEG out.

Every input is made here, in memory, by Pillow or by hand (the pixel floods)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms

from uploads.pipeline.images import ACCEPTED_FORMATS, InvalidImage, image_process

RED, BLUE = (255, 0, 0), (0, 0, 255)


def encoded(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def halves(size: tuple[int, int], left=RED, right=BLUE) -> Image.Image:
    """Left half one colour, right half another: shows where the pixels went."""
    image = Image.new("RGB", size, right)
    image.paste(left, (0, 0, size[0] // 2, size[1]))
    return image


def output(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    image.load()
    return image


def near(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def png_flood(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of width×height black pixels: a few KB declaring
    a huge image (the pixel flood, or decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) is rewritten to claim width×height."""
    data = bytearray(encoded(Image.new("RGB", (16, 16), "grey"), quality=90))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


# --- what comes out ----------------------------------------------------------------


def test_a_large_photo_fits_800_by_800_keeping_its_aspect_ratio():
    data, width, height = image_process(io.BytesIO(encoded(halves((4000, 3000)), quality=90)))
    assert (width, height) == (800, 600)
    image = output(data)
    assert image.size == (800, 600)
    assert near(image.getpixel((100, 300)), RED) and near(image.getpixel((700, 300)), BLUE)


@pytest.mark.parametrize(
    "size, expected",
    [((3000, 1000), (800, 267)), ((1000, 3000), (267, 800)), ((1601, 1601), (800, 800)), ((900, 30), (800, 27))],
)
def test_any_shape_fits_the_box_with_its_aspect_ratio(size, expected):
    for fmt in ("JPEG", "PNG", "WEBP"):
        data, width, height = image_process(io.BytesIO(encoded(halves(size), fmt)))
        assert (width, height) == expected == output(data).size, fmt


def test_small_images_are_not_enlarged():
    data, width, height = image_process(io.BytesIO(encoded(halves((300, 200)), "PNG")))
    assert (width, height) == (300, 200) == output(data).size


def test_size_and_quality_are_configurable():
    source = encoded(Image.effect_noise((1200, 900), 40).convert("RGB"), quality=95)
    best, width, height = image_process(io.BytesIO(source), max_side=400, quality=95)
    worst, *_ = image_process(io.BytesIO(source), max_side=400, quality=20)
    assert (width, height) == (400, 300)
    assert len(worst) < len(best) / 2


def test_a_path_is_accepted_as_well_as_a_file_object(tmp_path):
    path = tmp_path / "photo.webp"
    path.write_bytes(encoded(halves((1000, 500)), "WEBP"))
    assert image_process(path)[1:] == (800, 400)
    assert image_process(str(path))[1:] == (800, 400)


# --- orientation and metadata ---------------------------------------------------------


@pytest.mark.parametrize("stored, expected", [((4000, 2000), (400, 800)), ((400, 200), (200, 400))])
def test_exif_orientation_6_is_applied_to_the_pixels(stored, expected):
    """Orientation 6: the camera was turned a quarter clockwise; shown upright, the
    stored left side is the top."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    data, width, height = image_process(io.BytesIO(encoded(halves(stored), exif=exif)))
    assert (width, height) == expected
    image = output(data)
    assert image.size == expected
    assert near(image.getpixel((width // 2, height // 8)), RED)
    assert near(image.getpixel((width // 2, height * 7 // 8)), BLUE)
    assert ExifTags.Base.Orientation not in image.getexif()  # nothing left to rotate it twice


@pytest.mark.parametrize("size", [(2000, 1500), (400, 300)])  # resized, and kept at its size
@pytest.mark.parametrize("with_icc", [True, False])
def test_gps_exif_xmp_comments_and_the_icc_profile_are_not_in_the_output(size, with_icc):
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.Base.Orientation] = 1
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.0),
        }
    )
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() if with_icc else None
    source = encoded(
        halves(size), exif=exif, icc_profile=icc, comment=b"shot at home", xmp=b"<x:xmpmeta>secret place</x:xmpmeta>"
    )
    before = Image.open(io.BytesIO(source))
    assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input does carry them
    assert before.info.get("comment") and bool(before.info.get("icc_profile")) == with_icc

    data, *_ = image_process(io.BytesIO(source))
    image = output(data)
    assert not image.getexif()
    assert not {"exif", "icc_profile", "comment", "xmp"} & set(image.info)
    for trace in (b"Exif", b"SpyCam", b"shot at home", b"secret place", b"ICC_PROFILE"):
        assert trace not in data


def test_an_image_with_an_icc_profile_comes_out_in_srgb_and_a_broken_profile_is_ignored():
    grey = Image.new("RGB", (1000, 1000), (128, 128, 128))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for profile in (srgb, b"not an ICC profile at all"):
        data, width, height = image_process(io.BytesIO(encoded(grey, icc_profile=profile)))
        assert (width, height) == (800, 800)
        assert near(output(data).getpixel((400, 400)), (128, 128, 128), tolerance=4)


def test_transparency_becomes_white_and_16_bit_greys_are_scaled_not_clipped():
    clear = Image.new("RGBA", (1000, 500), (255, 0, 0, 0))
    data, *_ = image_process(io.BytesIO(encoded(clear, "PNG")))
    assert near(output(data).convert("RGB").getpixel((400, 200)), (255, 255, 255), tolerance=3)

    palette = Image.new("P", (50, 50), 0)
    palette.putpalette([0, 0, 0] * 256)
    data, *_ = image_process(io.BytesIO(encoded(palette, "PNG", transparency=0)))
    assert near(output(data).convert("RGB").getpixel((25, 25)), (255, 255, 255), tolerance=3)

    mid_grey = Image.new("I;16", (64, 64), 32768)
    data, *_ = image_process(io.BytesIO(encoded(mid_grey, "PNG")))
    assert abs(output(data).convert("L").getpixel((32, 32)) - 128) <= 3


def test_cmyk_and_greyscale_jpegs_are_read():
    data, *_ = image_process(io.BytesIO(encoded(Image.new("CMYK", (1600, 1200), (0, 255, 255, 0)))))
    assert near(output(data).convert("RGB").getpixel((400, 300)), RED, tolerance=60)
    data, width, height = image_process(io.BytesIO(encoded(Image.new("L", (1600, 800), 200))))
    assert (width, height) == (800, 400)


# --- what is refused ---------------------------------------------------------------------


def test_the_accepted_formats_are_jpeg_png_and_webp():
    assert ACCEPTED_FORMATS == ("JPEG", "PNG", "WEBP")


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO", "PPM", "TGA"])
def test_a_real_image_in_another_format_is_refused(fmt):
    with pytest.raises(InvalidImage) as refused:
        image_process(io.BytesIO(encoded(halves((64, 64)), fmt)))
    assert refused.value.reason == "not_an_image"


@pytest.mark.parametrize(
    "content",
    [
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script></svg>",
        b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n",
        b"",
        b"\xff\xd8\xff",  # a JPEG signature and nothing else
    ],
)
def test_markup_documents_and_scraps_are_refused(content):
    with pytest.raises(InvalidImage) as refused:
        image_process(io.BytesIO(content))
    assert refused.value.reason in ("not_an_image", "corrupt")
    assert str(refused.value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_truncated_image_is_refused(fmt):
    whole = encoded(Image.effect_noise((1600, 1200), 50).convert("RGB"), fmt)
    image_process(io.BytesIO(whole))  # the whole file is fine
    with pytest.raises(InvalidImage) as refused:
        image_process(io.BytesIO(whole[: len(whole) * 2 // 3]))
    assert refused.value.reason == "corrupt"


def test_a_pixel_flood_png_is_refused_before_decoding():
    """20000×20000 (400 Mpx) in a few KB: over twice Image.MAX_IMAGE_PIXELS, where Pillow itself raises."""
    flood = png_flood(20_000, 20_000)
    assert len(flood) < 200_000
    with pytest.raises(InvalidImage) as refused:
        image_process(io.BytesIO(flood))
    assert refused.value.reason == "too_many_pixels"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_over_the_pixel_limit_where_pillow_only_warns_is_refused_too():
    """10000×10000 (100 Mpx) is over MAX_IMAGE_PIXELS (89.5 Mpx) but under twice it: Pillow's
    DecompressionBombWarning, an error here. A JPEG claiming it is refused as well, although
    shrink-on-load would have decoded only an eighth of each side."""
    assert 10_000 * 10_000 > Image.MAX_IMAGE_PIXELS > 10_000 * 10_000 / 2
    for flood in (png_flood(10_000, 10_000), jpeg_declaring(10_000, 10_000), jpeg_declaring(60_000, 60_000)):
        with pytest.raises(InvalidImage) as refused:
            image_process(io.BytesIO(flood))
        assert refused.value.reason == "too_many_pixels"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_the_pixel_limit_follows_pillows_setting(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000 * 1000)
    image_process(io.BytesIO(encoded(halves((1000, 1000)))))
    with pytest.raises(InvalidImage):
        image_process(io.BytesIO(encoded(halves((1001, 1000)))))
