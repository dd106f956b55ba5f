"""Small raster textures (number plate, brand badge) drawn at the size they appear on screen."""

from __future__ import annotations

import functools

from PIL import Image, ImageDraw, ImageFont


@functools.lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's built-in scalable font (no font files; basic layout, so no system libraries)."""
    return ImageFont.load_default(size=max(4, size))


@functools.lru_cache(maxsize=64)
def plate_texture(text: str, width: int, height: int) -> Image.Image:
    """A white plate with a black frame and black characters (Vietnamese style)."""
    im = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    radius = max(1, height // 6)
    border = max(1, height // 12)
    draw.rounded_rectangle(
        (0, 0, width - 1, height - 1),
        radius,
        fill=(246, 246, 242, 255),
        outline=(20, 20, 20, 255),
        width=border,
    )
    if height >= 7:
        _centered_text(draw, text, box=im.size, size=round(height * 0.7), fill=(18, 18, 20, 255))
    return im


@functools.lru_cache(maxsize=64)
def badge_texture(initials: str, shape: str, width: int, height: int) -> Image.Image:
    """A chrome emblem of ``shape`` with the brand's initials."""
    im = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    box = (0, 0, width - 1, height - 1)
    rim = (120, 124, 130, 255)
    chrome = (222, 225, 230, 255)
    line = max(1, min(width, height) // 10)
    if shape == "diamond":
        pts = [(width / 2, 0), (width - 1, height / 2), (width / 2, height - 1), (0, height / 2)]
        draw.polygon(pts, fill=chrome, outline=rim, width=line)
    elif shape == "shield":
        pts = [
            (0, 0),
            (width - 1, 0),
            (width - 1, height * 0.55),
            (width / 2, height - 1),
            (0, height * 0.55),
        ]
        draw.polygon(pts, fill=chrome, outline=rim, width=line)
    elif shape == "rounded":
        draw.rounded_rectangle(box, max(1, height // 3), fill=chrome, outline=rim, width=line)
    else:
        draw.ellipse(box, fill=chrome, outline=rim, width=line)
    if initials and height >= 8:
        size = round(height * (0.62 if len(initials) == 1 else 0.5 if len(initials) == 2 else 0.36))
        _centered_text(draw, initials, box=im.size, size=size, fill=(36, 38, 44, 255))
    return im


def _centered_text(
    draw: ImageDraw.ImageDraw,
    text: str,
    *,
    box: tuple[int, int],
    size: int,
    fill: tuple[int, int, int, int],
) -> None:
    """``text`` centred in a ``box`` (width, height), shrunk until it fits 90% of the width."""
    width, height = box
    face = font(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=face)
    # Shrink to fit the width (a plate is wide, but a badge with "BMW" is not).
    while right - left > width * 0.9 and size > 4:
        size -= 1
        face = font(size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=face)
    x = (width - (right - left)) / 2 - left
    y = (height - (bottom - top)) / 2 - top
    draw.text((x, y), text, font=face, fill=fill)
