"""Foreground segmentation by backdrop colour modelling, for ``operations.segment_foreground``.

All at a working size of at most ``WORK_SIDE`` pixels:

1. Backdrop model: robust colour lines along the four sides, blended inward (a Coons
   patch, ``backdrop``), then grown inward on a coarse grid: pixels that match and
   connect to the border become known backdrop and the model is re-estimated from them
   alone, so it follows spotlights, vignetting and soft shadows up to the subject's edge.
   Colours along three sides (wall and floor) are extra flat models, and the blends along
   the seam between two of them count as backdrop too.
2. Per pixel, the weighted YCbCr distance to the nearest model.
3. Hysteresis: Otsu's threshold (floored above the noise measured on the border) and a weak
   one at half of it; weak regions survive when they hold strong pixels and are no specks.
4. Pockets the border flood cannot reach are filled unless they show the backdrop (a mug
   handle); a closing smooths ragged borders.
5. Soft edges from colour: across the border band, coverage = distance / the subject's own
   distance nearby; then the mask is scaled up to the image.
"""

from __future__ import annotations

import itertools
from typing import Any

from PIL import Image, ImageChops, ImageFilter, ImageMath, ImageStat

from image_svc.edit.backdrop import (
    MIN_DISTANCE,
    blend_distance,
    border_model,
    distance,
    rgb_to_ycc,
    shared_border_colors,
)
from image_svc.edit.common import binary, downscale, masked_blur, percentile
from image_svc.edit.regions import border_reachable, fill_holes, keep_anchored

_COARSE_SIDE = 128  # grid on which the backdrop model is grown inward
_GROW_ROUNDS = 10


def foreground_mask(rgb: Image.Image) -> Image.Image:
    """An "L" mask of the subject (255) against the background (0) for an RGB image."""
    work = downscale(rgb).filter(ImageFilter.GaussianBlur(0.6))
    w, h = work.size
    if min(w, h) < 8:
        return Image.new("L", rgb.size, 255)
    ycc = work.convert("YCbCr")
    band = max(2, round(min(w, h) * 0.012))
    colors = [rgb_to_ycc(c) for c in shared_border_colors(work, band)]
    models = [_background_model(ycc, band, colors)]
    models += [Image.new("YCbCr", (w, h), c) for c in colors]
    each = [distance(ycc, m) for m in models]
    dist = _darkest(each)
    if len(models) > 1:
        dist = ImageChops.darker(dist, _seam_distance(ycc, models, each))

    noise_level = percentile(_ring_histogram(dist, band), 0.8)
    strong = max(_otsu(dist.histogram()), MIN_DISTANCE, noise_level * 2 + 6)
    weak = max(strong // 2, noise_level + 4, MIN_DISTANCE * 2 // 3)
    # A 3x3 majority vote first: isolated pixels (noise, dithering) are not shapes.
    weak_mask = binary(dist, weak).filter(ImageFilter.BoxBlur(1))
    fg = keep_anchored(
        bytearray(binary(weak_mask, 128).tobytes()),
        binary(dist, strong).tobytes(),
        w,
        h,
    )
    fill_holes(fg, dist.tobytes(), w, h, backdrop=max(noise_level + 3, weak // 2))
    solid = Image.frombytes("L", (w, h), bytes(fg))
    solid = _erode(_dilate(solid, 1), 1)  # closing: smooths ragged borders, shuts pinholes
    # At half scale the distance stays below the 255 clip, so it stays proportional to coverage.
    half = _darkest([distance(ycc, m, scale=0.5) for m in models])
    alpha = _edge_alpha(solid, half).filter(ImageFilter.GaussianBlur(0.6))
    return alpha.resize(rgb.size, Image.Resampling.BICUBIC)


def _background_model(
    ycc: Image.Image, band: int, colors: list[tuple[int, int, int]]
) -> Image.Image:
    """The backdrop's colour everywhere, grown inward from the border on a coarse grid.

    Starts from the Coons patch of the border profiles, then repeatedly takes the pixels
    that match the model and connect to the border as known backdrop and re-estimates the
    model near them from those pixels alone. Each round the known area creeps inward over
    smooth changes (a spotlight, vignetting, a soft shadow) and stops at the subject's
    edge, where the colour jumps.
    """
    coarse = downscale(ycc, _COARSE_SIDE)
    cw, ch = coarse.size
    cband = max(1, round(band * cw / ycc.width))
    model = border_model(coarse, cband)
    flats = [Image.new("YCbCr", coarse.size, c) for c in colors]
    known = 0
    for _ in range(_GROW_ROUNDS):
        dist = _darkest([distance(coarse, m) for m in (model, *flats)])
        cut = max(MIN_DISTANCE, percentile(_ring_histogram(dist, cband), 0.8) * 2 + 4)
        backdrop = border_reachable(binary(dist, cut, below=True).tobytes(), cw, ch)
        count = backdrop.count(255)
        if count <= known * 1.01 or count == 0:
            break
        known = count
        weight = _erode(Image.frombytes("L", (cw, ch), bytes(backdrop)), 1)
        model = masked_blur(coarse, weight, cw / 12, fallback=model)
    return model.resize(ycc.size, Image.Resampling.BILINEAR)


def _seam_distance(
    ycc: Image.Image, models: list[Image.Image], each: list[Image.Image]
) -> Image.Image:
    """Distance to the colour blends between two backdrop models, only where both are near.

    Where two backdrop tones meet (wall and floor, a table edge), the seam's pixels mix the
    two and match neither; they are backdrop if their colour lies between the two tones and
    pixels of both tones are within a few pixels. ``each`` holds the distance to each model.
    Elsewhere the result is 255.
    """
    out = Image.new("L", ycc.size, 255)
    reach = max(2, round(max(ycc.size) / 128))
    near = [_dilate(binary(d, MIN_DISTANCE, below=True), reach) for d in each]
    for i, j in itertools.combinations(range(len(models)), 2):
        both = ImageChops.multiply(near[i], near[j])
        # Two models that agree (the flat backdrop colour and the graded model) have no seam.
        if both.getbbox() is None:
            continue
        if ImageStat.Stat(distance(models[i], models[j]), mask=both).mean[0] < MIN_DISTANCE:
            continue
        between = blend_distance(ycc, models[i], models[j])
        out = ImageChops.darker(out, Image.composite(between, out, both))
    return out


def _darkest(images: list[Image.Image]) -> Image.Image:
    """Per pixel, the smallest value of the images (the distance to the closest model)."""
    out = images[0]
    for image in images[1:]:
        out = ImageChops.darker(out, image)
    return out


def _edge_alpha(solid: Image.Image, dist: Image.Image) -> Image.Image:
    """Soft edges from colour: across the border band, alpha = distance / subject's distance.

    A border pixel mixing subject colour F and backdrop B in proportion a is a*|F - B| away
    from the backdrop (YCbCr is linear in RGB), so dividing its distance by that of the
    subject just inside gives its coverage; edges land where the colours say, not where the
    threshold happened to cut.
    """
    opaque = _erode(solid, 4)
    reference = _erode(solid, 3)  # where the subject's own distance is sampled
    outer = _dilate(solid, 1)
    spread = ImageFilter.BoxBlur(5)
    inside = ImageChops.multiply(dist, reference).filter(spread)
    weight = reference.filter(spread)

    def expression(e: dict[str, Any]) -> Any:
        subject = e["max"](e["inside"] * 255.0 / e["max"](e["w"], 1), 1.0)
        # Slightly generous (full cover from 92 %) so the subject's own shading near its
        # border does not turn see-through.
        coverage = e["d"] * 255.0 / (subject * 0.92)
        return e["convert"](e["max"](e["opaque"], e["min"](e["outer"], coverage)), "L")

    alpha = ImageMath.lambda_eval(
        expression, opaque=opaque, outer=outer, d=dist, inside=inside, w=weight
    )
    assert isinstance(alpha, Image.Image)
    return alpha


def _dilate(mask: Image.Image, radius: int) -> Image.Image:
    """Binary dilation by a square (a box blur is far cheaper than Pillow's rank filters)."""
    return binary(mask.filter(ImageFilter.BoxBlur(radius)), 1)


def _erode(mask: Image.Image, radius: int) -> Image.Image:
    """Binary erosion by a square."""
    return binary(mask.filter(ImageFilter.BoxBlur(radius)), 255)


# --- thresholds ---------------------------------------------------------------------------


def _otsu(hist: list[int]) -> int:
    """Otsu's threshold of a 256-bin histogram (the value starting the upper class)."""
    total = sum(hist)
    if total == 0:
        return 128
    sum_all = sum(i * c for i, c in enumerate(hist))
    best, best_t = -1.0, 128
    weight_lo = 0
    sum_lo = 0.0
    for t in range(255):
        weight_lo += hist[t]
        sum_lo += t * hist[t]
        weight_hi = total - weight_lo
        if weight_lo == 0 or weight_hi == 0:
            continue
        mean_lo = sum_lo / weight_lo
        mean_hi = (sum_all - sum_lo) / weight_hi
        between = weight_lo * weight_hi * (mean_lo - mean_hi) ** 2
        if between > best:
            best, best_t = between, t + 1
    return best_t


def _ring_histogram(dist: Image.Image, band: int) -> list[int]:
    """Histogram of the distance map over the border band only."""
    w, h = dist.size
    ring = Image.new("L", (w, h), 255)
    ring.paste(0, (band, band, w - band, h - band))
    return dist.histogram(mask=ring)
