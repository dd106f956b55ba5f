"""How faithful "enhance" is: hue shift, clipped pixels and sharpness on generated pictures.

    python bench/enhance.py [--size N]

Draws a few kinds of picture (pale, dark, saturated, skin tones, a noisy scan, the pale
blue/orange photo and the red gradient of the bug report), enhances each with
`image_svc.edit.operations.enhance` (no step named: contrast and sharpening) and with the
previous algorithm (Pillow's autocontrast on the luminance applied to every channel, then an
unsharp mask per channel), and prints per kind:

- hue shift: mean circular difference of the HSV hue, in degrees, over the pixels with some
  colour (saturation and value above 0.12 in the input);
- clipped: share of pixels with a channel at 0 or 255 that had none in the input;
- sharpness: mean luminance gradient of the result over the input's (1.00 = unchanged);
- contrast: standard deviation of the luminance, result over input.

Everything is deterministic (seeded noise), so the table only changes with the algorithm.
"""

from __future__ import annotations

import argparse
import colorsys
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat

from image_svc.edit.operations import enhance

SIZE = 256
_COLOURED = 0.12


def _gradient(size: int, left: tuple[int, int, int], right: tuple[int, int, int]) -> Image.Image:
    ramp = Image.linear_gradient("L").rotate(90).resize((size, size))
    return Image.composite(
        Image.new("RGB", (size, size), right), Image.new("RGB", (size, size), left), ramp
    )


def _shapes(size: int, base: Image.Image, colours: Sequence[tuple[int, int, int]]) -> Image.Image:
    """`base` with a few soft-edged discs and bars: edges for the sharpness measure."""
    rng = random.Random(7)
    img = base.copy()
    for colour in colours:
        mask = Image.new("L", (size, size), 0)
        x, y = rng.randrange(size // 2), rng.randrange(size // 2)
        r = rng.randrange(size // 8, size // 3)
        mask.paste(255, (x, y, x + r, y + r // 2))
        img = Image.composite(
            Image.new("RGB", (size, size), colour), img, mask.filter(ImageFilter.GaussianBlur(1.2))
        )
    return img


def _noise(img: Image.Image, amplitude: int, seed: int) -> Image.Image:
    """`img` with seeded grey grain of +-`amplitude`."""
    rng = random.Random(seed)
    noise = Image.new("L", img.size)
    noise.putdata([128 + rng.randint(-amplitude, amplitude) for _ in range(img.width * img.height)])
    return ImageChops.add(img, Image.merge("RGB", [noise] * 3), scale=1.0, offset=-128)


def pictures(size: int = SIZE) -> dict[str, Image.Image]:
    """The kinds of picture the bench (and the tests) enhance."""
    pale = _gradient(size, (176, 200, 228), (240, 204, 168))  # pale blue to pale orange
    pale = _shapes(size, pale, [(160, 186, 222), (236, 190, 150), (200, 214, 232)])
    dark = _shapes(size, _gradient(size, (18, 24, 40), (60, 44, 30)), [(70, 40, 30), (30, 60, 44)])
    saturated = _shapes(
        size, _gradient(size, (199, 40, 60), (120, 14, 30)), [(30, 60, 200), (240, 200, 20)]
    )
    skin = _shapes(
        size, _gradient(size, (224, 182, 150), (150, 100, 76)), [(198, 140, 110), (90, 60, 50)]
    )
    scan = _shapes(
        size, _gradient(size, (196, 186, 160), (150, 140, 120)), [(90, 80, 70), (120, 60, 50)]
    )
    soft = ImageFilter.GaussianBlur(1.5)
    return {
        "pale blue/orange": _noise(pale.filter(soft), 3, 1),
        "dark": _noise(dark.filter(soft), 2, 2),
        "saturated": _noise(saturated.filter(soft), 3, 3),
        "skin tones": _noise(skin.filter(soft), 3, 4),
        "noisy scan": _noise(scan.filter(soft), 14, 5),
        "red gradient": _gradient(size, (199, 40, 60), (140, 28, 44)),
    }


def legacy_enhance(img: Image.Image) -> Image.Image:
    """The algorithm enhance used before (kept here to compare against)."""
    out = ImageOps.autocontrast(img, cutoff=0.5, preserve_tone=True)
    return out.filter(ImageFilter.UnsharpMask(radius=2.0, percent=110, threshold=3))


@dataclass(frozen=True)
class Measure:
    """What one enhancement did to one picture."""

    hue_shift: float  # degrees
    clipped: float  # share of pixels
    sharpness: float  # ratio
    contrast: float  # ratio
    millis: float


def _pixels(img: Image.Image) -> list[tuple[int, int, int]]:
    return [(int(p[0]), int(p[1]), int(p[2])) for p in img.convert("RGB").get_flattened_data()]  # type: ignore[index]


def hue_shift(before: Image.Image, after: Image.Image) -> float:
    """Mean circular HSV hue difference (degrees) over the pixels with some colour."""
    total = count = 0.0
    for a, b in zip(_pixels(before), _pixels(after), strict=True):
        h1, s1, v1 = colorsys.rgb_to_hsv(*(c / 255 for c in a))
        if s1 < _COLOURED or v1 < _COLOURED:
            continue
        h2, _, _ = colorsys.rgb_to_hsv(*(c / 255 for c in b))
        d = abs(h1 - h2) % 1.0
        total += min(d, 1.0 - d) * 360
        count += 1
    return total / count if count else 0.0


def clipped(before: Image.Image, after: Image.Image) -> float:
    """Share of pixels with a channel at 0 or 255 that had none before."""
    new = 0
    for a, b in zip(_pixels(before), _pixels(after), strict=True):
        if (0 in b or 255 in b) and not (0 in a or 255 in a):
            new += 1
    return new / (before.width * before.height)


def gradient(img: Image.Image) -> float:
    """Mean luminance gradient (edge strength)."""
    edges = (
        img.convert("L").filter(ImageFilter.FIND_EDGES).crop((1, 1, img.width - 1, img.height - 1))
    )
    return ImageStat.Stat(edges).mean[0]


def measure(before: Image.Image, how: Callable[[Image.Image], Image.Image]) -> Measure:
    started = time.perf_counter()
    after = how(before)
    millis = (time.perf_counter() - started) * 1000
    contrast = ImageStat.Stat(after.convert("L")).stddev[0] / max(
        ImageStat.Stat(before.convert("L")).stddev[0], 1e-6
    )
    return Measure(
        hue_shift(before, after),
        clipped(before, after),
        gradient(after) / max(gradient(before), 1e-6),
        contrast,
        millis,
    )


def table(size: int = SIZE) -> list[str]:
    """The table rows: each picture enhanced the old way and the current way."""
    head = f"{'picture':<18}{'algorithm':<10}{'hue shift':>10}{'clipped':>9}"
    head += f"{'sharpness':>11}{'contrast':>10}{'ms':>7}"
    lines = [head, "-" * len(head)]
    for name, picture in pictures(size).items():
        for label, how in (("before", legacy_enhance), ("now", enhance)):
            m = measure(picture, how)
            lines.append(
                f"{name:<18}{label:<10}{m.hue_shift:>9.1f}°{m.clipped:>9.1%}{m.sharpness:>10.2f}x"
                f"{m.contrast:>9.2f}x{m.millis:>7.1f}"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=SIZE)
    args = parser.parse_args(argv)
    print(f"enhance (no step named: contrast + sharpening), {args.size}x{args.size} pictures")
    print("\n".join(table(args.size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
