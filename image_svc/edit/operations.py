"""Pure image edits behind the image-input intents: style transfer, background edits, enhance.

These are what users get when no cloud provider is configured, so they are honest local
filters rather than generative models. Every function takes and returns Pillow images, does
no I/O, and is deterministic (same input, same bytes). Any input mode is accepted: palette,
greyscale, CMYK, 16-bit and float images are converted to RGB first, and an alpha channel
is carried through. Results are "RGB", or "RGBA" when the input had alpha (and for
``edit_background(..., "remove")``). Bad arguments raise ``ValueError`` with a message fit
for the user.

Costly analysis runs on a copy at most ``WORK_SIDE`` pixels long, so a 1024x1024 image
takes about 60-250 ms of one core per call whatever its content (``enhance`` to 4096x4096
about 350 ms, most of it the Lanczos resize itself).
"""

from __future__ import annotations

import re
from typing import Any

from PIL import Image, ImageChops, ImageFilter, ImageMath, ImageOps

from image_svc.edit.common import WORK_SIDE, downscale, join_alpha, masked_blur, split_alpha
from image_svc.edit.segment import foreground_mask
from image_svc.edit.styles import FILTERS

__all__ = [
    "BACKGROUND_ACTIONS",
    "STYLES",
    "WORK_SIDE",
    "edit_background",
    "enhance",
    "parse_hex_color",
    "segment_foreground",
    "style_transfer",
]

STYLES = ("cartoon", "posterize", "pencil", "watercolor", "anime")
BACKGROUND_ACTIONS = ("remove", "replace_color", "replace_scene", "blur")
MAX_SCALE = 4
MAX_BLUR_RADIUS = 100


def style_transfer(image: Image.Image, style: str, strength: float = 1.0) -> Image.Image:
    """``image`` restyled as one of ``STYLES``; ``strength`` 0..1 blends from the original."""
    name = _choice("style", style, STYLES)
    if not (isinstance(strength, int | float) and 0.0 <= strength <= 1.0):
        raise ValueError(f"strength must be a number from 0 to 1, got {strength!r}")
    rgb, alpha = split_alpha(image)
    styled = FILTERS[name](rgb)
    if strength < 1.0:
        styled = Image.blend(rgb, styled, float(strength))
    return join_alpha(styled, alpha)


def segment_foreground(image: Image.Image) -> Image.Image:
    """An "L" mask of the subject (255) against the background (0), with soft edges.

    Built for product and portrait photos: the background is modelled from the image border
    (a plain, graded or two-tone backdrop), pixels far from it in colour are the subject,
    and specks, ragged borders and small holes are cleaned up (see ``segment``).
    If the image already has meaningful transparency, its alpha channel is the answer.

    Copes with: plain, graded, spot-lit or vignetted backdrops, a wall with a table in front,
    subjects cut off by the frame (a bust), several subjects, soft cast shadows (left out).

    Limits: it knows colour, not objects. It fails on busy or strongly textured backgrounds
    (a street, foliage, a bookshelf), on subjects the colour of their backdrop (a white shirt
    on a white wall: parts go missing), when the subject fills most of the frame so that
    little backdrop shows at the border, and when a subject running off the bottom also
    covers both bottom corners and a quarter of each side (it is then taken for a floor).
    Hard, dark shadows are kept as subject. Background seen through the subject (a mug
    handle) stays background, and so do enclosed subject parts that look exactly like the
    backdrop. Hair and fur get a soft edge, not strands.
    """
    rgb, alpha = split_alpha(image)
    if alpha is not None and _has_transparency(alpha):
        return alpha
    return foreground_mask(rgb)


def edit_background(
    image: Image.Image,
    action: str,
    *,
    color: tuple[int, int, int] = (255, 255, 255),
    scene: Image.Image | None = None,
    blur_radius: int = 12,
) -> Image.Image:
    """Remove, recolour, replace or blur the background behind the segmented subject.

    ``remove`` gives "RGBA" with a transparent background; ``replace_color`` puts the
    subject on ``color``; ``replace_scene`` on ``scene`` (scaled and centre-cropped to cover
    the frame); ``blur`` blurs the background by ``blur_radius`` pixels (1..100) without the
    subject's colours bleeding into it. The others return "RGB".
    """
    name = _choice("action", action, BACKGROUND_ACTIONS)
    if name == "replace_scene" and scene is None:
        raise ValueError("replace_scene needs a scene image to put behind the subject")
    if name == "replace_color":
        _check_color(color)
    if name == "blur" and not (
        isinstance(blur_radius, int) and 1 <= blur_radius <= MAX_BLUR_RADIUS
    ):
        raise ValueError(
            f"blur_radius must be a whole number from 1 to {MAX_BLUR_RADIUS}, got {blur_radius!r}"
        )

    rgb, alpha = split_alpha(image)
    if alpha is not None and _has_transparency(alpha):
        mask = alpha
    else:
        mask = foreground_mask(rgb)
        if alpha is not None:
            # The odd transparent pixel stays out of the subject whatever the colours say.
            mask = ImageChops.multiply(mask, alpha)

    subject = _decontaminate(rgb, mask)
    if name == "remove":
        return join_alpha(subject, mask)
    if name == "replace_color":
        backdrop = Image.new("RGB", rgb.size, color)
    elif name == "replace_scene":
        assert scene is not None
        backdrop = ImageOps.fit(_flatten(scene), rgb.size, Image.Resampling.LANCZOS)
    else:
        backdrop = _blur_behind(rgb, mask, blur_radius)
    return Image.composite(subject, backdrop, mask)


def enhance(
    image: Image.Image,
    *,
    scale: int = 1,
    sharpen: bool = False,
    auto_contrast: bool = False,
    max_side: int = 4096,
) -> Image.Image:
    """Upscale (``scale`` 1..4, Lanczos), sharpen and/or stretch contrast, keeping the colours.

    The result never exceeds ``max_side`` on either side (the aspect ratio is kept, so an
    image already larger than that is scaled down). With no step requested it applies
    contrast and sharpening.

    Faithful to the original: contrast and sharpening work on the luminance only, and each
    pixel's colour is put back as its offset from the luminance (so its hue is kept), scaled
    down where the full offset would leave 0..255, so no channel is clipped (a pale blue stays
    blue rather than turning cyan, a saturated red keeps its shading). The tone curve stretches
    the 0.5..99.5 % luminance range towards 12..243 with at most 4.5x the contrast, compressing
    the tails instead of cutting them, and moves the middle half-way to mid-grey (a dark photo
    is brightened, a pale one deepened, neither pushed to the ends).
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be a whole number from 1 to {MAX_SCALE}, got {scale!r}")
    if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1:
        raise ValueError(f"max_side must be a positive whole number, got {max_side!r}")
    if scale == 1 and not sharpen and not auto_contrast:
        sharpen = auto_contrast = True

    rgb, alpha = split_alpha(image)
    w, h = rgb.size
    factor = min(float(scale), max_side / max(w, h))
    size = (max(1, min(max_side, round(w * factor))), max(1, min(max_side, round(h * factor))))
    # Sharpen whichever side of the resize is smaller: the same look (Lanczos carries it up)
    # for a sixteenth of the work when upscaling 4x.
    sharpen_first = sharpen and size[0] * size[1] > w * h
    if auto_contrast or sharpen_first:
        rgb = _retone(rgb, contrast=auto_contrast, sharpen=sharpen_first)
    if size != rgb.size:
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
    if sharpen and not sharpen_first:
        rgb = _retone(rgb, contrast=False, sharpen=True)
    return join_alpha(rgb, alpha)


# The unsharp mask of the luminance: Pillow's UnsharpMask(radius=2, percent=110, threshold=3).
_SHARPEN_RADIUS = 2.0
_SHARPEN_AMOUNT = 1.1
_SHARPEN_THRESHOLD = 3.0
_TONE_RANGE = (12.0, 243.0)  # where the 0.5..99.5 % luminance range is stretched to
_MAX_GAIN = 4.5  # contrast grows at most 4.5x (a nearly flat image is not blown up)
_MAX_CHROMA_GAIN = 2.0  # colour grows with a brightened pixel, at most this much
_TAIL = 0.005
# Share of the room between the luminance and 0 / 255 that colour may use: a saturated pixel
# approaches the end of the range but never lands on it (no flat 0 or 255 channel).
_HEADROOM = 0.96
# The output's luminance and channels stay within these: no pixel lands on 0 or 255.
_BOTTOM, _TOP = 1.0, 254.0


def _retone(rgb: Image.Image, *, contrast: bool, sharpen: bool) -> Image.Image:
    """New luminance (tone curve, unsharp mask) with each pixel's colour offset kept."""
    luma = rgb.convert("L")
    toned = luma.point(_tone_curve(luma)) if contrast else luma
    blurred = toned.filter(ImageFilter.GaussianBlur(_SHARPEN_RADIUS)) if sharpen else toned
    r, g, b = rgb.split()

    def sharpened(args: dict[str, Any]) -> Any:
        # Unsharp mask whose overshoot fades out towards black and white instead of being
        # cut off there (a cut overshoot is a flat 0 or 255 halo).
        fl, mn, mx = args["float"], args["min"], args["max"]
        y2 = fl(args["t"])
        detail = (y2 - fl(args["blur"])) * _SHARPEN_AMOUNT
        detail = detail * (abs(detail) > _SHARPEN_THRESHOLD)
        up = (_TOP - y2) * _HEADROOM
        down = (y2 - _BOTTOM) * -_HEADROOM
        return y2 + mx(mn(detail, up), down)

    target = ImageMath.lambda_eval(sharpened, t=toned, blur=blurred) if sharpen else toned

    def scale(args: dict[str, Any]) -> Any:
        fl, mn, mx = args["float"], args["min"], args["max"]
        y, y2 = fl(args["y"]), fl(args["y2"])
        cr, cg, cb = fl(args["r"]) - y, fl(args["g"]) - y, fl(args["b"]) - y
        top = mx(mx(cr, cg), cb)
        bottom = mn(mn(cr, cg), cb)
        # Colour grows with the luminance when a pixel is brightened (a dark photo keeps its
        # saturation), never beyond the room left above and below the new luminance.
        grow = mn(mx(y2 / mx(y, 1.0), 1.0), _MAX_CHROMA_GAIN)
        room_up = (_TOP - y2) * _HEADROOM / mx(top, 0.5)
        room_down = (y2 - _BOTTOM) * _HEADROOM / mx(bottom * -1.0, 0.5)
        return mx(mn(mn(grow, room_up), room_down), 0.0)

    factor = ImageMath.lambda_eval(scale, y=luma, y2=target, r=r, g=g, b=b)
    out = [
        ImageMath.lambda_eval(
            lambda a: a["convert"](
                a["float"](a["y2"]) + (a["float"](a["c"]) - a["float"](a["y"])) * a["s"] + 0.5,
                "L",
            ),
            y=luma,
            y2=target,
            c=channel,
            s=factor,
        )
        for channel in (r, g, b)
    ]
    return Image.merge("RGB", out)


def _tone_curve(luma: Image.Image) -> list[int]:
    """A monotone 256-entry curve: the middle range stretched, the tails compressed."""
    hist = luma.histogram()
    total = sum(hist)
    lo, hi = _percentile(hist, total * _TAIL), _percentile(hist, total * (1 - _TAIL))
    t_lo, t_hi = _TONE_RANGE
    span = max(hi - lo, 1)
    gain = max(1.0, min(_MAX_GAIN, (t_hi - t_lo) / span))
    middle = (lo + hi) / 2
    centre = (middle + 127.5) / 2
    out_lo = centre - span * gain / 2
    out_hi = centre + span * gain / 2
    # Keep the stretched range inside the target, shifting it rather than cutting it.
    shift = max(0.0, t_lo - out_lo) - max(0.0, out_hi - t_hi)
    out_lo, out_hi = out_lo + shift, out_hi + shift
    curve = []
    for v in range(256):
        if v < lo:
            out = _BOTTOM + (out_lo - _BOTTOM) * v / lo
        elif v > hi:
            out = out_hi + (v - hi) * (_TOP - out_hi) / (255 - hi)
        else:
            out = out_lo + (v - lo) * (out_hi - out_lo) / span
        curve.append(round(min(_TOP, max(_BOTTOM, out))))
    return curve


def _percentile(hist: list[int], rank: float) -> int:
    seen = 0
    for value, count in enumerate(hist):
        seen += count
        if seen > rank:
            return value
    return 255


_HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6})|#([0-9a-fA-F]{3})")


def parse_hex_color(text: str) -> tuple[int, int, int]:
    """``"#RRGGBB"``, ``"RRGGBB"`` or ``"#RGB"`` as an ``(r, g, b)`` tuple."""
    match = _HEX_COLOR.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a colour; use #RRGGBB, RRGGBB or #RGB, e.g. #1e90ff")
    digits = match.group(1) or "".join(c * 2 for c in match.group(2))
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _choice(field: str, value: str, allowed: tuple[str, ...]) -> str:
    name = value.strip().lower() if isinstance(value, str) else value
    if name not in allowed:
        raise ValueError(f"unknown {field} {value!r}; expected one of: {', '.join(allowed)}")
    assert isinstance(name, str)
    return name


def _check_color(color: object) -> None:
    if not (
        isinstance(color, tuple)
        and len(color) == 3
        and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in color)
    ):
        raise ValueError(f"color must be three whole numbers from 0 to 255, got {color!r}")


def _has_transparency(alpha: Image.Image) -> bool:
    """Whether at least 1 % of the pixels are clearly transparent."""
    hist = alpha.histogram()
    return sum(hist[:128]) >= 0.01 * alpha.width * alpha.height


def _flatten(image: Image.Image) -> Image.Image:
    """RGB version of any image, transparent parts on white."""
    rgb, alpha = split_alpha(image)
    if alpha is None:
        return rgb
    return Image.composite(rgb, Image.new("RGB", rgb.size, (255, 255, 255)), alpha)


def _blur_behind(rgb: Image.Image, mask: Image.Image, radius: int) -> Image.Image:
    """The background blurred without the subject, so its colours do not halo around it.

    Runs at reduced size: the result is blurry anyway.
    """
    small = downscale(rgb, WORK_SIDE)
    factor = small.width / rgb.width
    behind = ImageOps.invert(mask.resize(small.size, Image.Resampling.BILINEAR))
    out = masked_blur(small, behind, max(0.5, radius * factor))
    return out.resize(rgb.size, Image.Resampling.BICUBIC)


def _decontaminate(rgb: Image.Image, mask: Image.Image) -> Image.Image:
    """``rgb`` with the colours of the soft edge replaced by those of the solid subject nearby.

    Edge pixels are part backdrop; composited as they are, the old backdrop shows as a light
    or dark fringe on the new one. Where the mask is below about two thirds the colour comes
    wholly from the subject just inside, blending back to the photo's own colour as the mask
    becomes solid.
    """
    small = downscale(rgb, WORK_SIDE)
    solid = mask.resize(small.size, Image.Resampling.BILINEAR).point(
        lambda v: 255 if v >= 250 else 0
    )
    inside = masked_blur(small, solid, 2.0, fallback=small).resize(
        rgb.size, Image.Resampling.BICUBIC
    )
    return Image.composite(rgb, inside, mask.point(lambda v: max(0, min(255, (v - 176) * 3))))
