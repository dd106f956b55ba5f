"""Colour models of a photo's backdrop, estimated from the border, and distances to them.

Colours are compared in YCbCr, which is linear in RGB (so a pixel mixing two colours lies
on the segment between them), with brightness weighted 0.8 and chroma 2.0: a shadow or a
highlight mostly changes brightness, a subject usually changes hue too.
"""

from __future__ import annotations

import statistics
from typing import Any

from PIL import Image, ImageChops, ImageMath

MIN_DISTANCE = 14  # distances below this are noise even on a perfectly clean backdrop
_SEGMENTS = 24  # samples along each side for the border colour profile
_GRID = 16  # resolution of the Coons patch before it is scaled up
_WEIGHTS = (0.64, 4.0, 4.0)  # squared weights of Y, Cb, Cr differences

Color = tuple[float, float, float]


def border_model(ycc: Image.Image, band: int) -> Image.Image:
    """The backdrop predicted everywhere from the border band of a YCbCr image.

    Robust straight-line colour profiles along the four sides, blended inward as a Coons
    patch: right for plain and graded backdrops, a first guess for anything else.
    """
    return _coons(_side_profiles(ycc, band), ycc.size)


def _side_profiles(ycc: Image.Image, band: int) -> list[list[Color]]:
    """Robust linear colour profiles along top, bottom, left and right, ``_SEGMENTS`` each.

    A subject covering most of one side (shoulders along the bottom of a portrait) wins that
    side's fit; such a side disagrees with both neighbours at its corners, and is replaced
    by the straight line between the neighbours' ends, as if the backdrop ran on behind it.
    """
    w, h = ycc.size
    strips = [
        ycc.crop((0, 0, w, band)),
        ycc.crop((0, h - band, w, h)),
        # ROTATE_90 lays a column out as a row with its top on the left.
        ycc.crop((0, 0, band, h)).transpose(Image.Transpose.ROTATE_90),
        ycc.crop((w - band, 0, w, h)).transpose(Image.Transpose.ROTATE_90),
    ]
    profiles = []
    for strip in strips:
        means = strip.resize((_SEGMENTS, 1), Image.Resampling.BOX)
        profiles.append(_robust_line([_pixel(means, x, 0) for x in range(_SEGMENTS)]))
    top, bottom, left, right = profiles
    last = _SEGMENTS - 1
    # Where each side (top, bottom, left, right) meets its neighbours: (profile, index) pairs.
    partners = [
        ((left, 0), (right, 0)),
        ((left, last), (right, last)),
        ((top, 0), (bottom, 0)),
        ((top, last), (bottom, last)),
    ]
    suspect = [
        far(side[0], a[0][a[1]]) and far(side[last], b[0][b[1]])
        for side, (a, b) in zip(profiles, partners, strict=True)
    ]
    if 0 < sum(suspect) <= 2:
        profiles = [
            [_mix(a[0][a[1]], b[0][b[1]], i / last) for i in range(_SEGMENTS)] if bad else side
            for side, bad, (a, b) in zip(profiles, suspect, partners, strict=True)
        ]
    return profiles


def far(a: Color, b: Color) -> bool:
    """Whether two backdrop estimates disagree (beyond gradients and noise)."""
    squared = sum(w * (a[i] - b[i]) * (a[i] - b[i]) for i, w in enumerate(_WEIGHTS))
    return squared > (2 * MIN_DISTANCE) ** 2


def _robust_line(samples: list[Color]) -> list[Color]:
    """Per channel, a least-squares line through the samples after dropping outliers."""
    n = len(samples)
    xs = list(range(n))
    keep = list(xs)
    for _ in range(3):
        fits = [_line([xs[i] for i in keep], [samples[i][c] for i in keep]) for c in range(3)]
        residuals = [
            max(abs(samples[i][c] - (a + b * i)) for c, (a, b) in enumerate(fits)) for i in xs
        ]
        spread = statistics.median(residuals[i] for i in keep)
        cutoff = max(3.0, 2.5 * spread)
        new_keep = [i for i in xs if residuals[i] <= cutoff]
        if len(new_keep) < n // 3 or new_keep == keep:
            break
        keep = new_keep
    fits = [_line([xs[i] for i in keep], [samples[i][c] for i in keep]) for c in range(3)]
    return [
        (fits[0][0] + fits[0][1] * i, fits[1][0] + fits[1][1] * i, fits[2][0] + fits[2][1] * i)
        for i in xs
    ]


def _line(xs: list[int], ys: list[float]) -> tuple[float, float]:
    """Intercept and slope of the least-squares line (flat when there is a single point)."""
    if len(xs) < 2:
        return (ys[0] if ys else 128.0), 0.0
    slope, intercept = statistics.linear_regression(xs, ys)
    return intercept, slope


def _coons(profiles: list[list[Color]], size: tuple[int, int]) -> Image.Image:
    """The background predicted inside the frame from its four side profiles (a Coons patch)."""
    top, bottom, left, right = profiles
    last = _SEGMENTS - 1

    def at(profile: list[Color], t: float) -> Color:
        pos = t * last
        i = min(int(pos), last - 1)
        f = pos - i
        a, b = profile[i], profile[i + 1]
        return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f)

    # Corners as the average of the two sides meeting there.
    tl = _mix(top[0], left[0], 0.5)
    tr = _mix(top[last], right[0], 0.5)
    bl = _mix(bottom[0], left[last], 0.5)
    br = _mix(bottom[last], right[last], 0.5)
    grid = Image.new("YCbCr", (_GRID, _GRID))
    for gy in range(_GRID):
        v = gy / (_GRID - 1)
        lc, rc = at(left, v), at(right, v)
        for gx in range(_GRID):
            u = gx / (_GRID - 1)
            tc, bc = at(top, u), at(bottom, u)
            value = tuple(
                (1 - v) * tc[c]
                + v * bc[c]
                + (1 - u) * lc[c]
                + u * rc[c]
                - (
                    (1 - u) * (1 - v) * tl[c]
                    + u * (1 - v) * tr[c]
                    + (1 - u) * v * bl[c]
                    + u * v * br[c]
                )
                for c in range(3)
            )
            grid.putpixel((gx, gy), tuple(max(0, min(255, round(x))) for x in value))
    return grid.resize(size, Image.Resampling.BILINEAR)


def shared_border_colors(rgb: Image.Image, band: int) -> list[tuple[int, int, int]]:
    """Border colours present along at least three sides (two-tone backdrops: wall and floor).

    The border band is quantised to a few colours, near-identical ones (noise splits a big
    area) are merged, and a colour counts on a side when it covers a quarter of it.
    """
    w, h = rgb.size
    length = 64
    strips = [
        rgb.crop((0, 0, w, band)),
        rgb.crop((0, h - band, w, h)),
        rgb.crop((0, 0, band, h)).transpose(Image.Transpose.ROTATE_90),
        rgb.crop((w - band, 0, w, h)).transpose(Image.Transpose.ROTATE_90),
    ]
    ring = Image.new("RGB", (length, 4 * band))
    for i, strip in enumerate(strips):
        ring.paste(strip.resize((length, band), Image.Resampling.BOX), (0, i * band))
    labels = ring.quantize(8, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = labels.getpalette() or []
    per_side = [
        labels.crop((0, i * band, length, (i + 1) * band)).histogram()[:8] for i in range(4)
    ]
    used = [k for k in range(8) if any(side[k] for side in per_side)]
    ycc = {k: rgb_to_ycc((palette[3 * k], palette[3 * k + 1], palette[3 * k + 2])) for k in used}
    groups: list[list[int]] = []
    for k in used:
        for group in groups:
            if not far(_as_color(ycc[group[0]]), _as_color(ycc[k])):
                group.append(k)
                break
        else:
            groups.append([k])
    shared = []
    for group in groups:
        covered = sum(sum(side[k] for k in group) >= 0.25 * length * band for side in per_side)
        if covered >= 3:
            weight = [sum(side[k] for side in per_side) for k in group]
            mean = [
                round(
                    sum(palette[3 * k + c] * n for k, n in zip(group, weight, strict=True))
                    / sum(weight)
                )
                for c in range(3)
            ]
            shared.append((mean[0], mean[1], mean[2]))
    return shared


def _as_color(value: tuple[int, int, int]) -> Color:
    return float(value[0]), float(value[1]), float(value[2])


def distance(ycc: Image.Image, model: Image.Image, scale: float = 1.0) -> Image.Image:
    """Per-pixel weighted colour distance to ``model`` as "L" (times ``scale``, clipped at 255)."""
    dy, dcb, dcr = ImageChops.difference(ycc, model).split()
    wy, wc = _WEIGHTS[0] * scale * scale, _WEIGHTS[1] * scale * scale

    def expression(e: dict[str, Any]) -> Any:
        y, b, r = e["float"](e["y"]), e["float"](e["b"]), e["float"](e["r"])
        return e["convert"](e["min"]((y * y * wy + (b * b + r * r) * wc) ** 0.5, 255.0), "L")

    dist = ImageMath.lambda_eval(expression, y=dy, b=dcb, r=dcr)
    assert isinstance(dist, Image.Image)
    return dist


def blend_distance(ycc: Image.Image, a: Image.Image, b: Image.Image) -> Image.Image:
    """Weighted YCbCr distance from each pixel to the colour segment between ``a`` and ``b``."""
    weights = _WEIGHTS
    bands = {}
    for name, image in (("p", ycc), ("a", a), ("b", b)):
        for k, band in enumerate(image.split()):
            bands[f"{name}{k}"] = band

    def expression(e: dict[str, Any]) -> Any:
        f = e["float"]
        ab = [f(e[f"b{k}"]) - f(e[f"a{k}"]) for k in range(3)]
        ap = [f(e[f"p{k}"]) - f(e[f"a{k}"]) for k in range(3)]
        length2 = sum(wk * d * d for wk, d in zip(weights, ab, strict=True))
        dot = sum(wk * x * y for wk, x, y in zip(weights, ab, ap, strict=True))
        t = e["min"](e["max"](dot / e["max"](length2, 1.0), 0.0), 1.0)
        off = sum(wk * (x - t * y) * (x - t * y) for wk, x, y in zip(weights, ap, ab, strict=True))
        return e["convert"](e["min"](off**0.5, 255.0), "L")

    out = ImageMath.lambda_eval(expression, **bands)
    assert isinstance(out, Image.Image)
    return out


def _pixel(image: Image.Image, x: int, y: int) -> Color:
    value = image.getpixel((x, y))
    assert isinstance(value, tuple)
    return float(value[0]), float(value[1]), float(value[2])


def _mix(a: Color, b: Color, t: float) -> Color:
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t


def rgb_to_ycc(color: tuple[int, int, int]) -> tuple[int, int, int]:
    value = Image.new("RGB", (1, 1), color).convert("YCbCr").getpixel((0, 0))
    assert isinstance(value, tuple)
    return int(value[0]), int(value[1]), int(value[2])
