"""Helpers shared by the pure image edits: mode normalisation, working sizes, noise."""

from __future__ import annotations

import random
from collections.abc import Callable

from PIL import Image, ImageChops, ImageFilter, ImageMath

# The long side the costly analysis steps (smoothing, segmentation) run at: big enough for
# clean edges after upscaling, small enough that a 1024 px image stays well under 300 ms.
WORK_SIDE = 512

_HIGH_DEPTH_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})


def split_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Return ``(rgb, alpha)`` for an image of any mode; ``alpha`` is None when there is none."""
    if image.mode in _HIGH_DEPTH_MODES:
        image = _to_8bit(image)
    if image.mode == "La":
        image = image.convert("LA")
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        return rgba.convert("RGB"), rgba.getchannel("A")
    return image.convert("RGB"), None


def join_alpha(rgb: Image.Image, alpha: Image.Image | None) -> Image.Image:
    """Put ``alpha`` back on ``rgb`` (resized to match), or return ``rgb`` unchanged."""
    if alpha is None:
        return rgb
    if alpha.size != rgb.size:
        alpha = alpha.resize(rgb.size, Image.Resampling.BILINEAR)
    out = rgb.copy()
    out.putalpha(alpha)
    return out


def _to_8bit(image: Image.Image) -> Image.Image:
    """Map 16-bit, 32-bit integer and float greyscale to 8-bit "L" without clipping it all white."""
    if image.mode.startswith("I;16"):
        return image.convert("I").point(lambda v: v / 257).convert("L")
    lo, hi = extrema(image)
    if lo >= 0 and hi <= 255 and hi > 1:
        return image.convert("L")
    if hi <= lo:
        return Image.new("L", image.size, 0)
    scale = 255.0 / (hi - lo)
    offset = -lo * scale
    return image.point(lambda v: v * scale + offset).convert("L")


def work_size(size: tuple[int, int], limit: int = WORK_SIDE) -> tuple[int, int]:
    """``size`` shrunk (never grown) so that its long side is at most ``limit``."""
    w, h = size
    factor = min(1.0, limit / max(w, h))
    return max(1, round(w * factor)), max(1, round(h * factor))


def downscale(image: Image.Image, limit: int = WORK_SIDE) -> Image.Image:
    """A copy with the long side at most ``limit`` (area-averaged, so noise drops too)."""
    size = work_size(image.size, limit)
    if size == image.size:
        return image.copy()
    return image.resize(size, Image.Resampling.BOX, reducing_gap=2.0)


def noise(size: tuple[int, int], seed: int, blur: float = 0.0) -> Image.Image:
    """Deterministic uniform noise as an "L" image (same bytes on every platform)."""
    w, h = size
    data = random.Random(seed).randbytes(w * h)
    img = Image.frombytes("L", (w, h), data)
    return img.filter(ImageFilter.GaussianBlur(blur)) if blur > 0 else img


def binary(image: Image.Image, cut: int, *, below: bool = False) -> Image.Image:
    """An "L" mask: 255 where ``image`` is at least ``cut`` (or, with ``below``, under it)."""
    table = [255 if (v < cut) == below else 0 for v in range(256)]
    return image.point(table)


def lut(fn: Callable[[int], float]) -> list[int]:
    """A 256-entry point table from ``fn(v)``, rounded and clipped to 0..255."""
    return [max(0, min(255, round(fn(v)))) for v in range(256)]


def extrema(image: Image.Image) -> tuple[float, float]:
    """Lowest and highest value of a single-band image."""
    lo, hi = image.getextrema()
    assert not isinstance(lo, tuple)
    assert not isinstance(hi, tuple)
    return float(lo), float(hi)


def percentile(hist: list[int], q: float) -> int:
    """The smallest value with at least a fraction ``q`` of a histogram at or below it."""
    target = q * sum(hist)
    running = 0
    for value, count in enumerate(hist):
        running += count
        if running >= target:
            return value
    return len(hist) - 1


def masked_blur(
    image: Image.Image, weight: Image.Image, radius: float, fallback: Image.Image | None = None
) -> Image.Image:
    """A blur averaging only where ``weight`` ("L") is high (normalised convolution).

    Each pixel becomes the weighted mean of its neighbourhood, so pixels outside the weight
    (a subject in front of a background, say) do not bleed in; where no weight is near, the
    plain blur (or ``fallback``) is used. Works band by band on any 8-bit mode.
    """
    blur = ImageFilter.GaussianBlur(radius)
    total = weight.filter(blur)
    bands = []
    for band in image.split():
        spread = ImageChops.multiply(band, weight).filter(blur)
        norm = ImageMath.lambda_eval(
            lambda e: e["convert"](e["p"] * 255.0 / e["max"](e["w"], 1), "L"), p=spread, w=total
        )
        assert isinstance(norm, Image.Image)
        bands.append(norm)
    confident = total.point(lut(lambda v: v * 8))
    if fallback is None:
        fallback = image.filter(blur)
    return Image.composite(Image.merge(image.mode, bands), fallback, confident)
