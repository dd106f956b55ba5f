"""The pure edits of edit/operations.py, on synthetic photos built here (shapes on backdrops)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from image_svc.edit.operations import (
    BACKGROUND_ACTIONS,
    STYLES,
    edit_background,
    enhance,
    parse_hex_color,
    segment_foreground,
    style_transfer,
)

SIZE = (320, 256)
SUBJECT = (200, 40, 40)
BACKDROP_TOP = (214, 220, 228)
BACKDROP_BOTTOM = (176, 184, 196)

# --- synthetic photos -------------------------------------------------------------------


def _backdrop(size: tuple[int, int] = SIZE, *, graded: bool = True) -> Image.Image:
    """A plain or gently graded studio backdrop with a little deterministic sensor noise."""
    w, h = size
    if graded:
        ramp = Image.linear_gradient("L").resize((w, h))
        img = Image.composite(
            Image.new("RGB", size, BACKDROP_BOTTOM), Image.new("RGB", size, BACKDROP_TOP), ramp
        )
    else:
        img = Image.new("RGB", size, BACKDROP_TOP)
    return _noisy(img, seed=1)


def _noisy(img: Image.Image, seed: int, amplitude: int = 6) -> Image.Image:
    w, h = img.size
    grain = Image.frombytes("L", img.size, random.Random(seed).randbytes(w * h))
    grain = grain.point(lambda v: 128 + (v - 128) * amplitude // 128)
    return ImageChops.add(img, Image.merge("RGB", (grain, grain, grain)), 1, -128)


def _shape_mask(size: tuple[int, int], draw: Callable[[ImageDraw.ImageDraw], None]) -> Image.Image:
    mask = Image.new("L", size, 0)
    draw(ImageDraw.Draw(mask))
    return mask


def _disc(size: tuple[int, int] = SIZE) -> Image.Image:
    w, h = size
    return _shape_mask(size, lambda d: d.ellipse((w * 0.3, h * 0.2, w * 0.7, h * 0.8), fill=255))


def _rounded_rect(size: tuple[int, int] = SIZE) -> Image.Image:
    w, h = size
    return _shape_mask(
        size,
        lambda d: d.rounded_rectangle(
            (w * 0.25, h * 0.3, w * 0.75, h * 0.75), radius=h // 8, fill=255
        ),
    )


def _photo(
    mask: Image.Image, subject: Image.Image | None = None, *, graded: bool = True
) -> Image.Image:
    """``subject`` (default a shaded red) pasted through ``mask`` onto a backdrop, softened."""
    if subject is None:
        light = Image.new("RGB", mask.size, (236, 70, 64))
        shade = Image.linear_gradient("L").rotate(90).resize(mask.size)
        subject = Image.composite(Image.new("RGB", mask.size, (150, 20, 24)), light, shade)
    img = Image.composite(subject, _backdrop(mask.size, graded=graded), mask)
    return _noisy(img.filter(ImageFilter.GaussianBlur(0.8)), seed=2, amplitude=4)


def _checker(
    size: tuple[int, int], cell: int, a: tuple[int, int, int], b: tuple[int, int, int]
) -> Image.Image:
    img = Image.new("RGB", size, a)
    draw = ImageDraw.Draw(img)
    for y in range(0, size[1], cell):
        for x in range(0, size[0], cell):
            if (x // cell + y // cell) % 2:
                draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=b)
    return img


# --- measurements -------------------------------------------------------------------------


def _binary(mask: Image.Image) -> Image.Image:
    return mask.point(lambda v: 255 if v >= 128 else 0).convert("1")


def _count(binary: Image.Image) -> int:
    return binary.convert("L").histogram()[255]


def _iou(found: Image.Image, truth: Image.Image) -> float:
    a, b = _binary(found), _binary(truth)
    return _count(ImageChops.logical_and(a, b)) / _count(ImageChops.logical_or(a, b))


def _edge_energy(img: Image.Image, region: Image.Image) -> float:
    """Mean edge response of ``img`` inside ``region`` (an "L" mask), eroded off its border."""
    inner = region.filter(ImageFilter.MinFilter(9))
    edges = img.convert("L").filter(ImageFilter.FIND_EDGES)
    return float(ImageStat.Stat(edges, mask=inner).mean[0])


def _mean(img: Image.Image, region: Image.Image | None = None) -> list[float]:
    return [float(v) for v in ImageStat.Stat(img, mask=region).mean]


def _mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return sum(_mean(ImageChops.difference(a.convert("RGB"), b.convert("RGB")))) / 3


def _pixel(img: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = img.getpixel(xy)
    assert isinstance(value, tuple)
    return tuple(int(v) for v in value)


def _extrema(img: Image.Image) -> tuple[float, float]:
    lo, hi = img.getextrema()
    assert not isinstance(lo, tuple)
    assert not isinstance(hi, tuple)
    return lo, hi


def _grey(img: Image.Image, xy: tuple[int, int]) -> int:
    value = img.getpixel(xy)
    assert isinstance(value, int)
    return value


def _corners(size: tuple[int, int], inset: int = 3) -> list[tuple[int, int]]:
    w, h = size
    return [
        (inset, inset),
        (w - 1 - inset, inset),
        (inset, h - 1 - inset),
        (w - 1 - inset, h - 1 - inset),
    ]


def _centre(size: tuple[int, int]) -> tuple[int, int]:
    return size[0] // 2, size[1] // 2


# --- segmentation -------------------------------------------------------------------------


@pytest.mark.parametrize("graded", [False, True], ids=["plain", "graded"])
@pytest.mark.parametrize("shape", [_disc, _rounded_rect], ids=["disc", "rounded_rect"])
def test_segment_finds_the_subject_on_a_studio_backdrop(
    shape: Callable[[tuple[int, int]], Image.Image], graded: bool
) -> None:
    truth = shape(SIZE)
    mask = segment_foreground(_photo(truth, graded=graded))
    assert mask.mode == "L"
    assert mask.size == SIZE
    assert _iou(mask, truth) >= 0.9


def test_segment_keeps_a_subject_cut_by_the_frame() -> None:
    # A bust: head and shoulders running off the bottom edge, as in most portraits.
    w, h = SIZE

    def bust(d: ImageDraw.ImageDraw) -> None:
        d.ellipse((w * 0.38, h * 0.1, w * 0.62, h * 0.55), fill=255)
        d.rounded_rectangle((w * 0.18, h * 0.6, w * 0.82, h * 1.3), radius=h // 5, fill=255)
        d.rectangle((w * 0.45, h * 0.5, w * 0.55, h * 0.65), fill=255)

    truth = _shape_mask(SIZE, bust)
    sweater = Image.new("RGB", SIZE, (40, 70, 160))
    skin = Image.composite(
        Image.new("RGB", SIZE, (225, 170, 140)),
        sweater,
        Image.linear_gradient("L").resize(SIZE).point(lambda v: 255 if v < 150 else 0),
    )
    assert _iou(segment_foreground(_photo(truth, skin)), truth) >= 0.9


def test_segment_follows_a_spotlit_backdrop() -> None:
    # Bright behind the subject, much darker towards the corners (studio spotlight, vignette).
    w, h = SIZE
    spot = (
        Image.radial_gradient("L")
        .resize((w * 3 // 2, h * 3 // 2))
        .crop((w // 4, h // 4, w * 5 // 4, h * 5 // 4))
    )
    backdrop = Image.composite(
        Image.new("RGB", SIZE, (120, 122, 130)), Image.new("RGB", SIZE, (236, 236, 236)), spot
    )
    truth = _disc()
    photo = _noisy(Image.composite(Image.new("RGB", SIZE, (150, 120, 95)), backdrop, truth), seed=3)
    assert _iou(segment_foreground(photo), truth) >= 0.9


def test_segment_handles_a_wall_and_a_table() -> None:
    w, h = SIZE
    backdrop = Image.new("RGB", SIZE, (210, 200, 180))
    ImageDraw.Draw(backdrop).rectangle((0, h * 2 // 3, w, h), fill=(120, 85, 55))
    truth = _rounded_rect()  # stands across the table edge
    photo = _noisy(Image.composite(Image.new("RGB", SIZE, (50, 110, 200)), backdrop, truth), seed=4)
    assert _iou(segment_foreground(photo), truth) >= 0.9


def test_segment_leaves_out_a_soft_cast_shadow() -> None:
    w, h = SIZE
    truth = _shape_mask(
        SIZE, lambda d: d.ellipse((w * 0.35, h * 0.15, w * 0.65, h * 0.6), fill=255)
    )
    shadow = _shape_mask(SIZE, lambda d: d.ellipse((w * 0.3, h * 0.62, w * 0.7, h * 0.8), fill=150))
    backdrop = Image.composite(
        Image.new("RGB", SIZE, (90, 92, 98)),
        _backdrop(),
        shadow.filter(ImageFilter.GaussianBlur(8)),
    )
    photo = Image.composite(Image.new("RGB", SIZE, SUBJECT), backdrop, truth)
    mask = segment_foreground(photo)
    assert _grey(mask, (w // 2, int(h * 0.71))) < 64
    assert _iou(mask, truth) >= 0.9


def test_segment_works_on_a_large_image_and_has_soft_edges() -> None:
    size = (1024, 768)
    truth = _disc(size)
    mask = segment_foreground(_photo(truth))
    assert mask.size == size
    assert _iou(mask, truth) >= 0.9
    hist = mask.histogram()
    assert sum(hist[16:240]) > 0, "edges should be feathered, not a hard cut-out"


def test_segment_leaves_background_seen_through_the_subject() -> None:
    w, h = SIZE

    def ring(d: ImageDraw.ImageDraw) -> None:
        d.ellipse((w * 0.2, h * 0.1, w * 0.8, h * 0.9), fill=255)
        d.ellipse((w * 0.38, h * 0.33, w * 0.62, h * 0.67), fill=0)

    truth = _shape_mask(SIZE, ring)
    mask = segment_foreground(_photo(truth))
    assert _grey(mask, _centre(SIZE)) < 20
    assert _iou(mask, truth) >= 0.85


def test_segment_fills_small_pockets_that_differ_from_the_backdrop() -> None:
    truth = _disc()
    subject = Image.new("RGB", SIZE, SUBJECT)
    # A highlight close to the backdrop's brightness but clearly warmer, inside the subject.
    cx, cy = _centre(SIZE)
    ImageDraw.Draw(subject).ellipse((cx - 8, cy - 8, cx + 8, cy + 8), fill=(240, 200, 190))
    mask = segment_foreground(_photo(truth, subject))
    assert _grey(mask, (cx, cy)) > 200


def test_segment_uses_existing_transparency() -> None:
    rgba = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    rgba.paste((10, 200, 10, 255), (0, 0, 100, 100))
    mask = segment_foreground(rgba)
    assert mask.tobytes() == rgba.getchannel("A").tobytes()


def test_segment_is_deterministic() -> None:
    photo = _photo(_disc())
    assert segment_foreground(photo).tobytes() == segment_foreground(photo).tobytes()


# --- background edits ---------------------------------------------------------------------


def test_remove_makes_the_background_transparent() -> None:
    out = edit_background(_photo(_disc()), "remove")
    assert out.mode == "RGBA"
    assert out.size == SIZE
    alpha = out.getchannel("A")
    assert all(_grey(alpha, xy) <= 8 for xy in _corners(SIZE))
    assert _grey(alpha, _centre(SIZE)) >= 247


def test_replace_color_paints_the_background_and_keeps_the_subject() -> None:
    photo = _photo(_disc(), Image.new("RGB", SIZE, SUBJECT))
    out = edit_background(photo, "replace_color", color=(30, 144, 255))
    assert out.mode == "RGB"
    for xy in _corners(SIZE):
        assert all(abs(a - b) <= 6 for a, b in zip(_pixel(out, xy), (30, 144, 255), strict=True))
    assert all(abs(a - b) <= 12 for a, b in zip(_pixel(out, _centre(SIZE)), SUBJECT, strict=True))


def test_replacing_leaves_no_fringe_of_the_old_backdrop() -> None:
    # A red disc shot on white, put on black: the rim must not glow with the old white.
    truth = _disc()
    photo = Image.composite(
        Image.new("RGB", SIZE, (200, 30, 30)), Image.new("RGB", SIZE, (250, 250, 250)), truth
    )
    out = edit_background(
        photo.filter(ImageFilter.GaussianBlur(1.5)), "replace_color", color=(0, 0, 0)
    )
    rim = ImageChops.subtract(
        truth.filter(ImageFilter.MaxFilter(9)), truth.filter(ImageFilter.MinFilter(9))
    )
    _, green, blue = out.split()
    assert (
        _extrema(Image.composite(ImageChops.lighter(green, blue), Image.new("L", SIZE, 0), rim))[1]
        <= 60
    )


def test_replace_scene_covers_the_frame_with_the_scene() -> None:
    photo = _photo(_disc(), Image.new("RGB", SIZE, SUBJECT))
    scene = Image.new("RGB", (90, 300), (20, 160, 60))  # other size and aspect ratio
    out = edit_background(photo, "replace_scene", scene=scene)
    assert out.size == SIZE
    assert out.mode == "RGB"
    for xy in _corners(SIZE):
        assert all(abs(a - b) <= 6 for a, b in zip(_pixel(out, xy), (20, 160, 60), strict=True))
    assert all(abs(a - b) <= 12 for a, b in zip(_pixel(out, _centre(SIZE)), SUBJECT, strict=True))


def test_replace_scene_accepts_a_transparent_scene() -> None:
    scene = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    out = edit_background(_photo(_disc()), "replace_scene", scene=scene)
    assert all(min(_pixel(out, xy)) >= 249 for xy in _corners(SIZE))


def _textured_photo() -> tuple[Image.Image, Image.Image]:
    """A checked subject on a faintly striped backdrop: both have edges for blur to remove."""
    truth = _disc()
    subject = _checker(SIZE, 8, (230, 60, 40), (250, 210, 40))
    stripes = _checker(SIZE, 4, (206, 212, 220), (194, 200, 210))
    photo = Image.composite(subject, stripes, truth)
    return photo, truth


def test_blur_softens_the_background_but_not_the_subject() -> None:
    photo, truth = _textured_photo()
    out = edit_background(photo, "blur", blur_radius=8)
    background = Image.eval(truth, lambda v: 255 - v)
    assert _edge_energy(out, background) < 0.25 * _edge_energy(photo, background)
    assert _edge_energy(out, truth) > 0.85 * _edge_energy(photo, truth)


def test_blur_does_not_smear_the_subject_into_the_background() -> None:
    photo, truth = _textured_photo()
    out = edit_background(photo, "blur", blur_radius=30)
    # Just outside the disc the background must stay grey-blue, not pick up red and yellow.
    ring = ImageChops.subtract(
        truth.filter(ImageFilter.MaxFilter(15)), truth.filter(ImageFilter.MaxFilter(7))
    )
    red, green, blue = _mean(out, ring)
    assert blue >= red - 8
    assert abs(green - 206) <= 12


@pytest.mark.parametrize("action", BACKGROUND_ACTIONS)
def test_background_edits_are_deterministic(action: str) -> None:
    photo = _photo(_disc())
    scene = _checker((64, 64), 8, (0, 0, 0), (255, 255, 255))
    first = edit_background(photo, action, scene=scene, color=(1, 2, 3))
    second = edit_background(photo, action, scene=scene, color=(1, 2, 3))
    assert first.tobytes() == second.tobytes()


def test_remove_on_a_cut_out_keeps_its_alpha_exactly() -> None:
    rgba = Image.new("RGBA", SIZE, (10, 200, 10, 0))
    rgba.paste((10, 200, 10, 128), (0, 0, 100, 100))  # half transparent
    rgba.paste((10, 200, 10, 255), (100, 0, 200, 100))
    out = edit_background(rgba, "remove")
    assert out.getchannel("A").tobytes() == rgba.getchannel("A").tobytes()


def test_remove_keeps_a_few_transparent_pixels_inside_the_subject() -> None:
    rgba = _photo(_disc()).convert("RGBA")
    cx, cy = _centre(SIZE)
    rgba.paste((0, 0, 0, 0), (cx - 2, cy - 2, cx + 3, cy + 3))  # far below 1 % of the image
    alpha = edit_background(rgba, "remove").getchannel("A")
    assert _grey(alpha, (cx, cy)) == 0
    assert _grey(alpha, (cx + 20, cy)) >= 247


def test_remove_keeps_transparency_the_input_already_had() -> None:
    rgba = _photo(_disc()).convert("RGBA")
    alpha = Image.new("L", SIZE, 255)
    alpha.paste(0, (0, 0, SIZE[0] // 2, SIZE[1]))  # left half already transparent
    rgba.putalpha(alpha)
    out = edit_background(rgba, "remove")
    assert _grey(out.getchannel("A"), (SIZE[0] // 2 - 10, SIZE[1] // 2)) == 0


# --- styles -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def portrait() -> Image.Image:
    w, h = SIZE
    truth = _shape_mask(SIZE, lambda d: d.ellipse((w * 0.3, h * 0.15, w * 0.7, h * 0.85), fill=255))
    img = _photo(truth)
    draw = ImageDraw.Draw(img)
    draw.ellipse((w * 0.42, h * 0.4, w * 0.47, h * 0.46), fill=(250, 250, 250))
    draw.ellipse((w * 0.53, h * 0.4, w * 0.58, h * 0.46), fill=(250, 250, 250))
    draw.arc((w * 0.42, h * 0.5, w * 0.58, h * 0.7), 20, 160, fill=(60, 20, 20), width=3)
    return img


@pytest.mark.parametrize("style", STYLES)
def test_style_changes_the_image_and_keeps_its_size(portrait: Image.Image, style: str) -> None:
    out = style_transfer(portrait, style)
    assert out.size == portrait.size
    assert out.mode == "RGB"
    assert _mean_abs_diff(out, portrait) > 4


@pytest.mark.parametrize("style", STYLES)
def test_style_is_deterministic(portrait: Image.Image, style: str) -> None:
    assert style_transfer(portrait, style).tobytes() == style_transfer(portrait, style).tobytes()


@pytest.mark.parametrize("style", STYLES)
def test_style_strength_blends_with_the_original(portrait: Image.Image, style: str) -> None:
    none = style_transfer(portrait, style, strength=0.0)
    half = style_transfer(portrait, style, strength=0.5)
    full = style_transfer(portrait, style, strength=1.0)
    assert _mean_abs_diff(none, portrait) < 0.5
    assert 0 < _mean_abs_diff(half, portrait) < _mean_abs_diff(full, portrait)


def test_pencil_is_greyscale(portrait: Image.Image) -> None:
    r, g, b = style_transfer(portrait, "pencil").split()
    assert ImageChops.difference(r, g).getbbox() is None
    assert ImageChops.difference(g, b).getbbox() is None


def test_cartoon_flattens_colours_and_draws_dark_outlines(portrait: Image.Image) -> None:
    out = style_transfer(portrait, "cartoon")
    colours = out.getcolors(maxcolors=1 << 16)
    original = portrait.getcolors(maxcolors=1 << 16)
    assert colours is not None
    assert original is None or len(colours) < len(original) // 4
    w, h = SIZE
    edge = _shape_mask(
        SIZE, lambda d: d.ellipse((w * 0.3, h * 0.15, w * 0.7, h * 0.85), outline=255, width=3)
    )
    assert _mean(out.convert("L"), edge)[0] < 0.7 * _mean(portrait.convert("L"), edge)[0]


def test_anime_is_more_saturated_than_the_photo(portrait: Image.Image) -> None:
    saturation = _mean(style_transfer(portrait, "anime").convert("HSV"))[1]
    assert saturation > _mean(portrait.convert("HSV"))[1] * 1.1


def test_style_keeps_the_alpha_channel() -> None:
    rgba = _photo(_disc()).convert("RGBA")
    rgba.putalpha(_disc())
    out = style_transfer(rgba, "watercolor")
    assert out.mode == "RGBA"
    assert out.getchannel("A").tobytes() == rgba.getchannel("A").tobytes()


# --- enhance ------------------------------------------------------------------------------


def test_enhance_scale_two_doubles_the_size() -> None:
    out = enhance(_photo(_disc()), scale=2)
    assert out.size == (SIZE[0] * 2, SIZE[1] * 2)


def test_enhance_caps_the_long_side_and_keeps_the_aspect_ratio() -> None:
    out = enhance(Image.new("RGB", (300, 200), "gray"), scale=4, max_side=1000)
    assert out.size == (1000, 667)
    shrunk = enhance(Image.new("RGB", (300, 200), "gray"), scale=1, sharpen=True, max_side=150)
    assert shrunk.size == (150, 100)


def test_enhance_auto_contrast_stretches_a_flat_image() -> None:
    dull = _photo(_disc()).point(lambda v: 100 + v // 4)
    lo, hi = _extrema(enhance(dull, auto_contrast=True).convert("L"))
    assert lo < 60
    assert hi > 200


def test_enhance_sharpen_adds_edge_contrast() -> None:
    truth = _disc()
    photo = _photo(truth).filter(ImageFilter.GaussianBlur(1.5))
    rim = ImageChops.subtract(
        truth.filter(ImageFilter.MaxFilter(7)), truth.filter(ImageFilter.MinFilter(7))
    )

    def acutance(img: Image.Image) -> float:
        return _mean(img.convert("L").filter(ImageFilter.FIND_EDGES), rim)[0]

    assert acutance(enhance(photo, sharpen=True)) > 1.2 * acutance(photo)


def test_enhance_sharpens_an_upscaled_image_too() -> None:
    truth = _disc()
    photo = _photo(truth).filter(ImageFilter.GaussianBlur(1.5))
    rim = ImageChops.subtract(
        truth.filter(ImageFilter.MaxFilter(7)), truth.filter(ImageFilter.MinFilter(7))
    )
    big_rim = rim.resize((SIZE[0] * 2, SIZE[1] * 2))

    def acutance(img: Image.Image) -> float:
        return _mean(img.convert("L").filter(ImageFilter.FIND_EDGES), big_rim)[0]

    assert acutance(enhance(photo, scale=2, sharpen=True)) > 1.2 * acutance(enhance(photo, scale=2))


def test_enhance_with_no_step_applies_contrast_and_sharpening() -> None:
    dull = _photo(_disc()).point(lambda v: 100 + v // 4)
    out = enhance(dull)
    assert out.size == SIZE
    assert _extrema(out.convert("L"))[1] > 200


# --- input modes --------------------------------------------------------------------------

_MODES = ["RGB", "RGBA", "L", "LA", "P", "1", "CMYK", "I;16", "I", "F", "YCbCr", "HSV"]


def _in_mode(mode: str) -> Image.Image:
    photo = _photo(_disc())
    if mode == "P":
        return photo.quantize(64)
    if mode in ("I;16", "I"):
        return photo.convert("L").convert("I").point(lambda v: v * 200).convert(mode)
    if mode == "F":
        return photo.convert("L").convert("F").point(lambda v: v / 255)
    return photo.convert(mode)


@pytest.mark.parametrize("mode", _MODES)
def test_every_operation_accepts_common_modes(mode: str) -> None:
    img = _in_mode(mode)
    with_alpha = mode in ("RGBA", "LA")
    assert style_transfer(img, "cartoon").mode == ("RGBA" if with_alpha else "RGB")
    assert enhance(img, scale=2).size == (SIZE[0] * 2, SIZE[1] * 2)
    assert edit_background(img, "remove").mode == "RGBA"
    assert edit_background(img, "replace_color").mode == "RGB"
    assert segment_foreground(img).size == SIZE


@pytest.mark.parametrize("mode", ["L", "I;16", "F"])
def test_deep_greyscale_is_not_clipped_to_white(mode: str) -> None:
    out = style_transfer(_in_mode(mode), "posterize", strength=0.0).convert("L")
    lo, hi = _extrema(out)
    assert hi - lo > 80


def test_palette_transparency_is_used_as_the_mask() -> None:
    img = Image.new("P", (40, 40), 1)
    img.putpalette([0, 0, 0, 255, 0, 0])
    img.paste(0, (0, 0, 20, 40))
    img.info["transparency"] = 0
    assert _grey(segment_foreground(img), (5, 5)) == 0
    assert _grey(segment_foreground(img), (30, 5)) == 255


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (7, 5), (600, 3)])
def test_tiny_and_thin_images_do_not_break(size: tuple[int, int]) -> None:
    img = Image.new("RGB", size, (120, 30, 200))
    for style in STYLES:
        assert style_transfer(img, style).size == size
    for action in BACKGROUND_ACTIONS:
        assert edit_background(img, action, scene=img).size == size
    assert segment_foreground(img).size == size
    assert enhance(img).size == size


# --- argument errors ----------------------------------------------------------------------


def test_unknown_style_is_rejected_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown style 'oil'.*cartoon, posterize"):
        style_transfer(Image.new("RGB", (8, 8)), "oil")


def test_style_name_is_case_insensitive() -> None:
    img = Image.new("RGB", (8, 8), "red")
    assert style_transfer(img, " Cartoon ").tobytes() == style_transfer(img, "cartoon").tobytes()


@pytest.mark.parametrize("strength", [-0.1, 1.01, float("nan"), float("inf")])
def test_strength_outside_zero_to_one_is_rejected(strength: float) -> None:
    with pytest.raises(ValueError, match="strength must be a number from 0 to 1"):
        style_transfer(Image.new("RGB", (8, 8)), "pencil", strength)


def test_unknown_background_action_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"unknown action 'erase'.*remove, replace_color"):
        edit_background(Image.new("RGB", (8, 8)), "erase")


def test_replace_scene_without_a_scene_is_rejected() -> None:
    with pytest.raises(ValueError, match="replace_scene needs a scene"):
        edit_background(Image.new("RGB", (8, 8)), "replace_scene")


@pytest.mark.parametrize("radius", [0, 101, -5])
def test_blur_radius_outside_range_is_rejected(radius: int) -> None:
    with pytest.raises(ValueError, match="blur_radius must be a whole number from 1 to 100"):
        edit_background(Image.new("RGB", (8, 8)), "blur", blur_radius=radius)


@pytest.mark.parametrize("color", [(256, 0, 0), (-1, 0, 0), (1, 2)])
def test_bad_replacement_colour_is_rejected(color: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="color must be three whole numbers"):
        edit_background(Image.new("RGB", (8, 8)), "replace_color", color=color)


@pytest.mark.parametrize("scale", [0, 5, -1])
def test_scale_outside_range_is_rejected(scale: int) -> None:
    with pytest.raises(ValueError, match="scale must be a whole number from 1 to 4"):
        enhance(Image.new("RGB", (8, 8)), scale=scale)


def test_non_positive_max_side_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_side must be a positive whole number"):
        enhance(Image.new("RGB", (8, 8)), max_side=0)


# --- colours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rgb"),
    [
        ("#1E90FF", (30, 144, 255)),
        ("1e90ff", (30, 144, 255)),
        ("#fa0", (255, 170, 0)),
        ("  #000000 ", (0, 0, 0)),
    ],
)
def test_parse_hex_color(text: str, rgb: tuple[int, int, int]) -> None:
    assert parse_hex_color(text) == rgb


@pytest.mark.parametrize(
    "text", ["", "#", "#12", "fa0", "#12345", "#1234567", "#GGGGGG", "red", "# 123456"]
)
def test_parse_hex_color_rejects_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="is not a colour; use #RRGGBB, RRGGBB or #RGB"):
        parse_hex_color(text)
