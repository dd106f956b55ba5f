"""The five local style filters behind ``operations.style_transfer``: RGB in, same-size RGB out.

Each is a short chain of Pillow operations. Smoothing, colour flattening and line finding
run on a copy shrunk to ``_SMOOTH_SIDE`` (which is also what keeps them fast); region
borders and lines are upscaled before they are cut, so they come out smooth rather than
blocky, and paper textures are made at full size. Everything is deterministic: textures
come from fixed seeds.
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image, ImageChops, ImageEnhance, ImageFilter, ImageMath, ImageOps

from image_svc.edit.common import downscale, lut, noise, percentile

_SOBEL_X = ImageFilter.Kernel((3, 3), [-1, 0, 1, -2, 0, 2, -1, 0, 1], scale=8, offset=128)
_SOBEL_Y = ImageFilter.Kernel((3, 3), [-1, -2, -1, 0, 0, 0, 1, 2, 1], scale=8, offset=128)
_ABS_FROM_OFFSET = lut(lambda v: abs(v - 128) * 2)
# Smoothing runs at this long side; area reduction alone removes most sensor noise.
_SMOOTH_SIDE = 384


def _smooth_small(rgb: Image.Image) -> Image.Image:
    """Edge-preserving smoothing on a shrunk copy: area reduction, then median filters."""
    small = downscale(rgb, _SMOOTH_SIDE)
    for _ in range(2):
        small = small.filter(ImageFilter.MedianFilter(3))
    return small


def _gradient(grey: Image.Image) -> Image.Image:
    """Sobel gradient magnitude (max of |gx|, |gy|) of an "L" image, in intensity steps."""
    gx = grey.filter(_SOBEL_X).point(_ABS_FROM_OFFSET)
    gy = grey.filter(_SOBEL_Y).point(_ABS_FROM_OFFSET)
    return ImageChops.lighter(gx, gy)


def _ink(small: Image.Image, size: tuple[int, int], contrast: int, sigma: float) -> Image.Image:
    """A full-size "L" ink mask (255 = ink) along the dark side of edges of a smoothed image.

    A difference of Gaussians (as in XDoG line drawing) of the small image: lines where a
    pixel is darker than its wider neighbourhood by more than ``contrast`` levels, and
    ``sigma`` (small-image pixels) sets the stroke width. The cut rises on busy pictures so
    ink covers at most about a tenth of them; the response is upscaled before the cut, which
    gives smooth anti-aliased strokes instead of enlarged pixels.
    """
    grey = small.convert("L")
    near = grey.filter(ImageFilter.GaussianBlur(sigma))
    wide = grey.filter(ImageFilter.GaussianBlur(sigma * 1.6))
    dog = ImageMath.lambda_eval(lambda e: e["convert"]((e["w"] - e["n"]) * 4, "L"), n=near, w=wide)
    assert isinstance(dog, Image.Image)
    cut = max(contrast * 4, percentile(dog.histogram(), 0.9))
    dog = dog.resize(size, Image.Resampling.BICUBIC)
    return dog.point(lut(lambda v: (v - cut) * 255 / max(8, cut)))


def _palette(small: Image.Image, colors: int) -> Image.Image:
    """A "P" image whose palette is ``colors`` representative colours of ``small``."""
    tiny = downscale(small, 112)
    return tiny.quantize(
        colors, method=Image.Quantize.MEDIANCUT, kmeans=2, dither=Image.Dither.NONE
    )


def _flatten(small: Image.Image, size: tuple[int, int], colors: int) -> Image.Image:
    """Flat colour regions at ``size``: palette labels cleaned by a mode filter, upscaled smoothly.

    Upscaling the label colours bicubically and mapping them back onto the palette gives
    smooth region borders instead of enlarged pixel steps.
    """
    palette = _palette(small, colors)
    labels = small.quantize(palette=palette, dither=Image.Dither.NONE)
    labels = labels.filter(ImageFilter.ModeFilter(3))
    up = labels.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    return up.quantize(palette=palette, dither=Image.Dither.NONE).convert("RGB")


def cartoon(rgb: Image.Image) -> Image.Image:
    """Flat colour regions from a quantised smoothed image, with dark ink outlines."""
    small = ImageEnhance.Color(_smooth_small(rgb)).enhance(1.25)
    flat = _flatten(small, rgb.size, 16)
    ink = _ink(small, rgb.size, contrast=4, sigma=1.0)
    return Image.composite(Image.new("RGB", rgb.size, (24, 20, 22)), flat, ink)


def anime(rgb: Image.Image) -> Image.Image:
    """Bright cel shading: few flat tones, boosted saturation, a soft glow, thin outlines."""
    small = _smooth_small(rgb)
    bright = ImageEnhance.Brightness(ImageEnhance.Color(small).enhance(1.6)).enhance(1.1)
    cel = _flatten(bright, rgb.size, 10)
    glow = downscale(cel, 128).filter(ImageFilter.GaussianBlur(4))
    glow = glow.resize(rgb.size, Image.Resampling.BILINEAR)
    cel = Image.blend(cel, ImageChops.screen(cel, glow), 0.25)
    ink = _ink(small, rgb.size, contrast=5, sigma=0.8)
    return Image.composite(Image.new("RGB", rgb.size, (52, 30, 48)), cel, ink)


_POSTER_LEVELS = lut(lambda v: v * 255 / 192)
_POSTER_SNAP = lut(lambda v: round(v / 85) * 85)


def posterize(rgb: Image.Image) -> Image.Image:
    """Poster print: four levels per channel, spread to the full range, on a smoothed copy."""
    small = _smooth_small(rgb).filter(ImageFilter.GaussianBlur(1.0))
    small = ImageEnhance.Color(ImageEnhance.Contrast(small).enhance(1.15)).enhance(1.3)
    # posterize(2) keeps levels 0/64/128/192; stretch them so the top level is white.
    poster = ImageOps.posterize(small, 2).point(_POSTER_LEVELS * 3)
    # Noise near a level border frays it into speckles; a mode filter keeps the majority.
    poster = poster.filter(ImageFilter.ModeFilter(5))
    up = poster.resize(rgb.size, Image.Resampling.BICUBIC)
    return up.point(_POSTER_SNAP * 3)


def pencil(rgb: Image.Image) -> Image.Image:
    """Graphite sketch: colour-dodge of the grey image with its blurred negative, on paper."""
    scale = max(rgb.size) / 1024
    grey = ImageOps.autocontrast(rgb.convert("L"), cutoff=1)
    # Sensor noise would turn into pencil grain everywhere; soften it first.
    grey = grey.filter(ImageFilter.GaussianBlur(max(0.5, 1.2 * scale)))
    radius = max(1.5, 9 * scale)
    blurred = ImageOps.invert(grey).filter(ImageFilter.GaussianBlur(radius))
    dodge = ImageMath.lambda_eval(
        lambda e: e["convert"](e["min"](e["x"] * 255 / (256 - e["y"]), 255), "L"),
        x=grey,
        y=blurred,
    )
    assert isinstance(dodge, Image.Image)
    # Deepen the strokes and keep a little tone so large dark areas read as shading.
    strokes = dodge.point(lut(lambda v: 255 * (v / 255) ** 2.4))
    shade = grey.filter(ImageFilter.GaussianBlur(radius * 2)).point(
        lut(lambda v: 170 + v * 85 / 255)
    )
    sketch = ImageChops.multiply(ImageChops.multiply(strokes, shade), _paper(rgb.size, 228))
    return _as_rgb(sketch)


def watercolor(rgb: Image.Image) -> Image.Image:
    """Light, transparent washes over simplified shapes, pigment pooled at their edges, paper."""
    small = _smooth_small(rgb)
    flat = _flatten(small, small.size, 14)
    # Mostly flat regions, some of the smooth original: shapes simplify, washes keep gradients.
    wash = Image.blend(flat, small, 0.35).filter(ImageFilter.GaussianBlur(0.8))
    # Transparent pigment: everything lighter, the lightest tones left as bare paper.
    wash = ImageEnhance.Color(wash).enhance(1.3).point(_WASH_TONE * 3)
    # Uneven pigment: some areas of each wash thinner than others.
    thin = noise((12, 12), seed=11).resize(wash.size, Image.Resampling.BICUBIC)
    paper_white = Image.new("RGB", wash.size, (255, 254, 250))
    wash = Image.composite(paper_white, wash, thin.point(lut(lambda v: max(0, v - 128) * 0.35)))
    # Wet edges: pigment collects along the borders of each wash.
    rims = _gradient(flat.convert("L")).filter(ImageFilter.GaussianBlur(0.8))
    wash = ImageChops.multiply(wash, _as_rgb(rims.point(lut(lambda v: 255 - min(80, v * 2.5)))))
    out = wash.resize(rgb.size, Image.Resampling.BICUBIC)
    return ImageChops.multiply(out, _as_rgb(_paper(rgb.size, 236)))


_WASH_TONE = lut(lambda v: 255 if v > 236 else 40 + v * 0.86)


def _paper(size: tuple[int, int], floor: int) -> Image.Image:
    """Fine paper grain as an "L" multiply layer between ``floor`` and 255."""
    grain = noise(size, seed=7, blur=0.8)
    return grain.point(lut(lambda v: floor + (255 - floor) * min(1.0, max(0.0, (v - 100) / 56))))


def _as_rgb(grey: Image.Image) -> Image.Image:
    return Image.merge("RGB", (grey, grey, grey))


FILTERS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "cartoon": cartoon,
    "posterize": posterize,
    "pencil": pencil,
    "watercolor": watercolor,
    "anime": anime,
}
