"""Image resize speed and quality: a 4000×3000 JPEG to fit 800×800, JPEG quality 80, one thread.

Times, on the same generated photo-like JPEG (gradients, blurred shapes, texture and
grain; quality 90, ~3.8 MB):

  Pillow full decode + resize            open, load at full size, resize(LANCZOS)
  Pillow thumbnail()                     Pillow's own thumbnail (it drafts to 2x the target itself)
  Pillow draft() + LANCZOS               shrink-on-load to the target (1/4 here), then resize(LANCZOS)
  uploads.pipeline.images.image_process  what the platform runs (the draft path plus checks, EXIF
                                         orientation, metadata stripping, ICC to sRGB)
  pyvips thumbnail_buffer                libvips' thumbnail (when pyvips is installed), one thread
  sharp (Node)                           sharp's resize (when node and an installed sharp are given
                                         with --sharp-dir), one libvips thread

Every one decodes, resizes and encodes JPEG quality 80 (4:2:0) in memory. The Python
cases run interleaved, one call each per round, so a busy machine slows them alike.

Quality: PSNR of each output against a reference resize (full-resolution decode, Pillow
LANCZOS, not encoded) — "pixels" before the JPEG encode (where the pipeline exposes them),
"output" for the decoded output JPEG. The same pixel PSNR is printed for two harder
images (a zone plate and fine diagonal lines), which show the aliasing that shrinking
on load costs.

  .venv/bin/python benchmarks/images.py [--runs 30] [--sharp-dir DIR]

A pure-CPU script: no services needed. pyvips is not a project dependency; to include it
run the script with a Python that has `pyvips==3.2.0 pyvips-binary==8.18.7`. For sharp:
`npm install sharp@0.35.5` in a directory outside the repo and pass it as --sharp-dir.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _bench  # noqa: F401  (puts the project on sys.path)
from _bench import percentile
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat, features

from uploads.pipeline.images import image_process

SIZE = (4000, 3000)
BOX = 800
QUALITY = 80
SHARP_ISSUE_MS = 62.0  # sharp's time for this resize on this kind of machine, as issue 5 quotes it


# --- test images ------------------------------------------------------------------


def photo_like(seed: int = 1) -> bytes:
    """Gradients, blurred shapes and lines, low-frequency texture and fine grain; JPEG q90."""
    width, height = SIZE
    rnd = random.Random(seed)
    base = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize(SIZE),
            Image.radial_gradient("L").resize(SIZE),
            Image.linear_gradient("L").rotate(90).resize(SIZE),
        ),
    )
    texture = Image.effect_noise((width // 16, height // 16), 60).resize(SIZE, Image.Resampling.BICUBIC)
    texture = Image.merge("RGB", (texture, texture.rotate(180), texture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    img = Image.blend(base, texture, 0.35)
    draw = ImageDraw.Draw(img)
    for _ in range(300):
        x, y, s = rnd.randrange(width), rnd.randrange(height), rnd.randrange(20, 400)
        colour = tuple(rnd.randrange(256) for _ in range(3))
        if rnd.random() < 0.5:
            draw.ellipse((x, y, x + s, y + s * rnd.random()), fill=colour)
        else:
            draw.line(
                (x, y, x + rnd.randrange(-600, 600), y + rnd.randrange(-600, 600)),
                fill=colour,
                width=rnd.randrange(1, 8),
            )
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    grain = Image.effect_noise(SIZE, 30)
    img = Image.blend(img, Image.merge("RGB", (grain, grain, grain)), 0.2)
    return _jpeg(img, 90)


def zone_plate() -> bytes:
    """cos(k r²): every spatial frequency up to the pixel's, a worst case for aliasing."""
    radius = Image.radial_gradient("L").resize(SIZE, Image.Resampling.BILINEAR)
    plate = radius.point([int(127.5 + 127.5 * math.cos((i / 255) ** 2 * 900)) for i in range(256)])
    return _jpeg(Image.merge("RGB", (plate, plate, plate)), 95)


def fine_lines() -> bytes:
    """2-px black diagonals every 7 px on white: text-like edges."""
    img = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(img)
    for x in range(-SIZE[1], SIZE[0], 7):
        draw.line((x, 0, x + SIZE[1] // 2, SIZE[1]), fill="black", width=2)
    return _jpeg(img, 95)


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


# --- the pipelines -------------------------------------------------------------------


def fit(size: tuple[int, int]) -> tuple[int, int]:
    scale = min(BOX / size[0], BOX / size[1], 1)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def pillow_full(src: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(src))
    im.load()
    return im.resize(fit(im.size), Image.Resampling.LANCZOS)


def pillow_thumbnail(src: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(src))
    im.thumbnail((BOX, BOX))
    return im


def pillow_draft(src: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(src))
    im.draft("RGB", fit(im.size))
    return im.resize(fit(im.size), Image.Resampling.LANCZOS)


def encoded(pixels: Callable[[bytes], Image.Image]) -> Callable[[bytes], bytes]:
    def run(src: bytes) -> bytes:
        out = io.BytesIO()
        pixels(src).save(out, "JPEG", quality=QUALITY, optimize=True)
        return out.getvalue()

    return run


def platform_pipeline(src: bytes) -> bytes:
    return image_process(io.BytesIO(src), max_side=BOX, quality=QUALITY)[0]


def pyvips_module():
    try:
        import pyvips
    except (ImportError, OSError):
        return None
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)
    return pyvips


def vips_pixels(pyvips, src: bytes) -> Image.Image:
    im = pyvips.Image.thumbnail_buffer(src, BOX, height=BOX, size="down")
    return Image.frombytes("RGB", (im.width, im.height), im.write_to_memory())


def vips_pipeline(pyvips) -> Callable[[bytes], bytes]:
    def run(src: bytes) -> bytes:
        im = pyvips.Image.thumbnail_buffer(src, BOX, height=BOX, size="down")
        return im.jpegsave_buffer(Q=QUALITY, optimize_coding=True, keep="none")

    return run


SHARP_SCRIPT = r"""
const path = require('path'), fs = require('fs');
const sharp = require(path.join(process.argv[2], 'node_modules', 'sharp'));
sharp.concurrency(1); sharp.cache(false);
const [, , , file, runs, warmup, rawDir] = process.argv;
const src = fs.readFileSync(file);
const pipeline = (input) => sharp(input).rotate().resize(%(box)d, %(box)d, {fit: 'inside', withoutEnlargement: true});
(async () => {
  const samples = [];
  let output;
  for (let i = 0; i < +warmup + +runs; i++) {
    const start = process.hrtime.bigint();
    output = await pipeline(src).jpeg({quality: %(quality)d}).toBuffer();
    if (i >= +warmup) samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  fs.writeFileSync(path.join(rawDir, 'sharp-output.jpg'), output);
  for (const name of fs.readdirSync(rawDir).filter((n) => n.endsWith('.src.jpg'))) {
    const input = fs.readFileSync(path.join(rawDir, name));
    const {data, info} = await pipeline(input).raw().toBuffer({resolveWithObject: true});
    fs.writeFileSync(path.join(rawDir, name.replace('.src.jpg', '.sharp.raw')), data);
    fs.writeFileSync(path.join(rawDir, name.replace('.src.jpg', '.sharp.json')), JSON.stringify(info));
  }
  console.log(JSON.stringify({samples, version: sharp.versions.sharp, vips: sharp.versions.vips}));
})();
""" % {"box": BOX, "quality": QUALITY}  # noqa: UP031  (the JavaScript is full of braces)


def sharp_run(sharp_dir: Path, work: Path, images: dict[str, bytes], runs: int, warmup: int) -> dict | None:
    """Time sharp in a node process on images['photo']; leaves raw pixels of every image in `work`."""
    node = shutil.which("node")
    if not node or not (sharp_dir / "node_modules" / "sharp").is_dir():
        return None
    for name, data in images.items():
        (work / f"{name}.src.jpg").write_bytes(data)
    script = work / "sharp-bench.js"
    script.write_text(SHARP_SCRIPT)
    result = subprocess.run(
        [node, str(script), str(sharp_dir.resolve()), str(work / "photo.src.jpg"), str(runs), str(3), str(work)],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(result.stdout.strip().splitlines()[-1])
    info["output"] = (work / "sharp-output.jpg").read_bytes()
    info["pixels"] = {}
    for name in images:
        meta = json.loads((work / f"{name}.sharp.json").read_text())
        info["pixels"][name] = Image.frombytes(
            "RGB", (meta["width"], meta["height"]), (work / f"{name}.sharp.raw").read_bytes()
        )
    return info


# --- measuring -----------------------------------------------------------------------


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB of two same-size RGB images (higher is closer)."""
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mse = sum(ImageStat.Stat(diff).sum2) / (a.width * a.height * 3)
    return float("inf") if mse == 0 else 10 * math.log10(255**2 / mse)


def reference(src: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(src))
    im.load()
    return im.resize(fit(im.size), Image.Resampling.LANCZOS)


def timed_interleaved(
    cases: dict[str, Callable[[bytes], bytes]], src: bytes, runs: int, warmup: int
) -> tuple[dict[str, list[float]], dict[str, bytes]]:
    samples: dict[str, list[float]] = {name: [] for name in cases}
    outputs: dict[str, bytes] = {}
    names = list(cases)
    for round_ in range(warmup + runs):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]  # rotate who goes first
        for name in order:
            start = time.perf_counter()
            outputs[name] = cases[name](src)
            if round_ >= warmup:
                samples[name].append((time.perf_counter() - start) * 1000)
    return samples, outputs


def by_format(src: bytes, runs: int) -> None:
    """image_process on the same picture as PNG and WebP: no shrink-on-load for those."""
    picture = Image.open(io.BytesIO(src))
    picture.load()
    inputs = {"JPEG q90": src, "PNG": _encoded(picture, "PNG"), "WebP q90": _encoded(picture, "WEBP", quality=90)}
    cases = {name: (lambda data: platform_pipeline(data)) for name in inputs}
    print(
        f"\nuploads.pipeline.images.image_process by input format (same {SIZE[0]}x{SIZE[1]} picture, {runs} runs each):"
    )
    for name, data in inputs.items():
        samples, _ = timed_interleaved({name: cases[name]}, data, runs, 1)
        print(
            f"  {name:10s} {len(data) / 1e6:5.1f} MB   p50 {percentile(samples[name], 50):7.1f} ms   "
            f"min {min(samples[name]):7.1f} ms"
        )


def _encoded(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def machine_line(pyvips) -> str:
    parts = [
        f"{os.cpu_count()} cores (nproc)",
        f"Python {platform.python_version()}",
        f"Pillow {Image.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')})",
    ]
    if pyvips is not None:
        parts.append(f"pyvips {pyvips.__version__} (libvips {'.'.join(str(pyvips.version(i)) for i in range(3))})")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return ", ".join(parts) + f", {platform.platform()}; load average {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--sharp-dir",
        type=Path,
        default=os.environ.get("SHARP_DIR"),
        help="a directory where `npm install sharp` was run (default: $SHARP_DIR)",
    )
    args = parser.parse_args()

    pyvips = pyvips_module()
    images = {"photo": photo_like(), "zone": zone_plate(), "lines": fine_lines()}
    src = images["photo"]
    print(
        f"Resize a {SIZE[0]}x{SIZE[1]} JPEG ({len(src) / 1e6:.1f} MB, q90, photo-like) to fit {BOX}x{BOX}, "
        f"JPEG q{QUALITY}, one thread"
    )
    print(f"machine: {machine_line(pyvips)}")
    print(f"{args.runs} timed runs per case after {args.warmup} warm-ups; Python cases interleaved\n")

    cases: dict[str, Callable[[bytes], bytes]] = {
        "Pillow full decode + resize": encoded(pillow_full),
        "Pillow thumbnail()": encoded(pillow_thumbnail),
        "Pillow draft() + LANCZOS": encoded(pillow_draft),
        "uploads.pipeline.images.image_process": platform_pipeline,
    }
    pixel_fns: dict[str, Callable[[bytes], Image.Image] | None] = {
        "Pillow full decode + resize": pillow_full,
        "Pillow thumbnail()": pillow_thumbnail,
        "Pillow draft() + LANCZOS": pillow_draft,
        "uploads.pipeline.images.image_process": None,
    }
    if pyvips is not None:
        cases["pyvips thumbnail_buffer"] = vips_pipeline(pyvips)
        pixel_fns["pyvips thumbnail_buffer"] = lambda data: vips_pixels(pyvips, data)
    samples, outputs = timed_interleaved(cases, src, args.runs, args.warmup)

    sharp = None
    if args.sharp_dir:
        with tempfile.TemporaryDirectory() as tmp:
            sharp = sharp_run(Path(args.sharp_dir), Path(tmp), images, args.runs, args.warmup)
    if sharp:
        name = f"sharp {sharp['version']} (Node, libvips {sharp['vips']})"
        samples[name], outputs[name] = sharp["samples"], sharp["output"]
        pixel_fns[name] = None

    refs = {key: reference(data) for key, data in images.items()}
    print(
        f"{'':38s} {'p50 ms':>7s} {'p90 ms':>7s} {'min ms':>7s} {'KB out':>7s}   "
        f"PSNR dB: {'output':>6s} {'pixels':>6s} {'zone':>6s} {'lines':>6s}"
    )
    for name, values in samples.items():
        out_img = Image.open(io.BytesIO(outputs[name]))
        pixels = pixel_fns.get(name)
        if sharp and name.startswith("sharp"):
            quality = [psnr(sharp["pixels"][key], refs[key]) for key in ("photo", "zone", "lines")]
        elif pixels is not None:
            quality = [psnr(pixels(images[key]), refs[key]) for key in ("photo", "zone", "lines")]
        else:  # image_process only returns JPEG: its pixels are the draft row's
            quality = [psnr(pillow_draft(images[key]), refs[key]) for key in ("photo", "zone", "lines")]
        print(
            f"{name:38s} {percentile(values, 50):7.1f} {percentile(values, 90):7.1f} {min(values):7.1f} "
            f"{len(outputs[name]) / 1024:7.1f}            {psnr(out_img, refs['photo']):6.2f} "
            + " ".join(f"{q:6.2f}" for q in quality)
        )
    if not sharp:
        why = "no --sharp-dir given" if not args.sharp_dir else f"node or {args.sharp_dir}/node_modules/sharp missing"
        print(f"{'sharp (Node)':38s} {SHARP_ISSUE_MS:7.1f}   (not measured here: {why}; the figure quoted by issue 5)")
    if pyvips is None:
        print("pyvips: not installed in this Python (pip install pyvips==3.2.0 pyvips-binary==8.18.7)")
    by_format(src, max(5, args.runs // 3))
    print(
        "\noutput = decoded output JPEG vs the reference; pixels = before the JPEG encode "
        "(image_process: the draft row's pixels, the same pipeline); zone, lines = pixels for the "
        "zone plate and fine-lines images. Reference: full-resolution decode + Pillow LANCZOS."
    )


if __name__ == "__main__":
    sys.exit(main())
