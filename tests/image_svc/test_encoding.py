"""encode(): valid PNG / JPEG / WebP that Pillow reopens at the right size and mode."""

from __future__ import annotations

import io

import pytest
from PIL import Image

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
