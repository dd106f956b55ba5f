"""encode(): valid PNG / JPEG / WebP that Pillow reopens at the right size and mode."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageCms, ImageDraw

from image_svc.encoding import MIME_TYPES, encode
from image_svc.render import RenderSubject, render

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    subject = RenderSubject(brand="Renault", model="Clio", color="blue", body_type="hatchback")
    return render(subject, azimuth=45, elevation=5, session_id="enc", seed=1, width=320, height=240)


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("fmt", sorted(MIME_TYPES))
def test_encodes_rgb(picture: Image.Image, fmt: str) -> None:
    data = encode(picture, fmt)
    image = reopen(data)
    assert image.format == PIL_FORMATS[fmt]
    assert Image.MIME[PIL_FORMATS[fmt]] == MIME_TYPES[fmt]
    assert image.size == (320, 240)
    assert image.mode == "RGB"


@pytest.mark.parametrize("fmt", sorted(MIME_TYPES))
def test_same_pixels_same_bytes(picture: Image.Image, fmt: str) -> None:
    assert encode(picture, fmt) == encode(picture.copy(), fmt)


def test_png_is_lossless(picture: Image.Image) -> None:
    assert reopen(encode(picture, "png")).tobytes() == picture.tobytes()


def noise(mode: str, size: tuple[int, int], seed: int) -> Image.Image:
    """Random pixels: every PNG filter of the writer gets non-zero rows to pick from."""
    rng = random.Random(seed)
    count = size[0] * size[1] * len(mode)
    return Image.frombytes(mode, size, bytes(rng.randrange(256) for _ in range(count)))


def flat_with_steps(size: tuple[int, int]) -> Image.Image:
    """Bands and blocks, as the renders have: rows where "Up" or "Sub" leaves only zeros."""
    image = Image.new("RGB", size, (200, 200, 210))
    draw = ImageDraw.Draw(image)
    for i in range(0, size[1], 7):
        draw.rectangle((0, i, size[0], i + 2), fill=(10 * (i % 20), 90, 240 - i % 200))
    draw.rectangle((size[0] // 3, 0, size[0] // 2, size[1]), fill=(250, 20, 20))
    return image


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("size", [(1, 1), (1, 9), (9, 1), (3, 2), (17, 5), (333, 97)])
def test_png_writer_is_lossless_for_any_size(mode: str, size: tuple[int, int]) -> None:
    image = noise(mode, size, seed=size[0] * 1000 + size[1])
    decoded = reopen(encode(image, "png"))
    assert (decoded.mode, decoded.size) == (mode, size)
    assert decoded.tobytes() == image.tobytes()


def test_png_of_flat_areas_is_small_and_exact() -> None:
    image = flat_with_steps((640, 480))
    data = encode(image, "png")
    assert reopen(data).tobytes() == image.tobytes()
    assert len(data) < 640 * 480 * 3 / 50


def test_png_keeps_an_icc_profile() -> None:
    image = Image.new("RGB", (20, 10), (1, 2, 3))
    image.info["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert reopen(encode(image, "png")).info.get("icc_profile") == image.info["icc_profile"]


def test_lossy_formats_stay_close(picture: Image.Image) -> None:
    for fmt in ("jpeg", "webp"):
        decoded = reopen(encode(picture, fmt)).convert("RGB")
        diff = [abs(a - b) for a, b in zip(decoded.tobytes(), picture.tobytes(), strict=True)]
        assert sum(diff) / len(diff) < 6, fmt


def transparent_square() -> Image.Image:
    image = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    image.paste((200, 20, 20, 255), (16, 16, 48, 32))
    return image


def test_jpeg_flattens_transparency_onto_white() -> None:
    image = reopen(encode(transparent_square(), "jpeg"))
    assert image.mode == "RGB"
    assert image.size == (64, 48)
    corner = image.getpixel((2, 2))
    centre = image.getpixel((32, 24))
    assert isinstance(corner, tuple)
    assert isinstance(centre, tuple)
    assert min(corner) > 245
    assert centre[0] > 150 > centre[1]


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_alpha_is_kept_where_the_format_has_it(fmt: str) -> None:
    image = reopen(encode(transparent_square(), fmt))
    assert image.mode == "RGBA"
    assert image.getpixel((2, 2)) == (0, 0, 0, 0) or image.getchannel("A").getpixel((2, 2)) == 0


@pytest.mark.parametrize("mode", ["L", "P", "LA", "CMYK"])
@pytest.mark.parametrize("fmt", sorted(MIME_TYPES))
def test_other_modes(mode: str, fmt: str) -> None:
    image = Image.new("RGB", (40, 30), (10, 120, 200)).convert(mode)
    decoded = reopen(encode(image, fmt))
    assert decoded.size == (40, 30)


@pytest.mark.parametrize("alias", ["JPG", "jpg", " Jpeg ", "PNG", "WebP"])
def test_format_names_are_forgiving(picture: Image.Image, alias: str) -> None:
    assert reopen(encode(picture, alias)).size == (320, 240)


@pytest.mark.parametrize("fmt", ["gif", "bmp", "", "tiff"])
def test_unknown_format_is_rejected(picture: Image.Image, fmt: str) -> None:
    with pytest.raises(ValueError, match="unsupported image format"):
        encode(picture, fmt)
