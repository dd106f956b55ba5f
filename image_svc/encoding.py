"""Image encoding for responses and uploads: PNG, JPEG and WebP with fast, deterministic settings.

The settings favour speed because encoding sits on the latency path of every image. Measured
on 1024x1024 mock renders, one core, Pillow 13 (see also docs/platform-notes.md, Pillow):

- PNG ``compress_level=1``: 23-37 ms against 43-51 ms at the default level 6, for files about
  1.5x larger (~80-110 KiB); the renders are flat-shaded, so even level 1 compresses well.
- JPEG ``quality=90`` with 4:2:0 chroma subsampling and no optimize/progressive pass: ~3 ms,
  the cheapest format (4:4:4 doubles the time and adds ~35% for edges nobody can see at q90).
- WebP lossy ``quality=80, method=0``: ~22 ms against ~75 ms for the default method 4, for
  files ~1.5x larger (still the smallest format, ~20-30 KiB).

No metadata (timestamps, EXIF) is written, so the same pixels always give the same bytes.
"""

from __future__ import annotations

import io

from PIL import Image

MIME_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}

_ALIASES = {"jpg": "jpeg"}


def normalize_format(fmt: str) -> str:
    """Canonical format name ("JPG" -> "jpeg"); ValueError for anything unsupported."""
    name = fmt.strip().lower()
    name = _ALIASES.get(name, name)
    if name not in MIME_TYPES:
        raise ValueError(f"unsupported image format {fmt!r}; expected one of {sorted(MIME_TYPES)}")
    return name


def encode(image: Image.Image, fmt: str) -> bytes:
    """Encode ``image`` as ``fmt`` ("png", "jpeg" or "webp")."""
    name = normalize_format(fmt)
    buffer = io.BytesIO()
    if name == "png":
        if image.mode not in {"RGB", "RGBA", "L", "LA", "P", "1", "I", "I;16"}:
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(buffer, "PNG", compress_level=1)
    elif name == "jpeg":
        _opaque(image).save(buffer, "JPEG", quality=90, subsampling="4:2:0")
    else:
        if image.mode not in {"RGB", "RGBA"}:
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(buffer, "WEBP", quality=80, method=0)
    return buffer.getvalue()


def _opaque(image: Image.Image) -> Image.Image:
    """JPEG has no alpha: flatten transparent pixels onto white (not black)."""
    if image.mode in {"RGB", "L"}:
        return image
    if "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
