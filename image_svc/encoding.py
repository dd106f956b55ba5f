"""Image encoding for responses and uploads: PNG, JPEG and WebP with fast, deterministic settings.

The settings favour speed because encoding sits on the latency path of every image. Measured
on 1024x1024 mock car views, one core, Pillow 13 (``bench/render.py``; docs/image-service.md):

- PNG: our own writer (``_png``) for L, LA, RGB and RGBA images: a row that repeats the one
  above gets the PNG "Up" filter (all zeros), every other row "Sub" (computed with NumPy), and
  the rows are deflated by ISA-L (the ``isal`` package) at level 1. ~4 ms and ~88 KiB, against
  ~25 ms and ~85 KiB for Pillow's ``compress_level=1``: Pillow tries four filters on every row
  in C, which costs more than its zlib level 1 and cannot be switched off, and ISA-L deflates
  these rows in ~1.5 ms where zlib takes ~10. Choosing Sub or Up per row by counting the zeros
  each leaves gave 3% smaller files for twice the CPU; Sub alone costs as little but gives 9%
  larger files. ISA-L level 0 is no faster and level 3 ten times slower. ISA-L picks its code
  for the CPU it runs on: the bytes are the same in every process of one install on one CPU
  family (a test checks it across processes), but another architecture may deflate
  differently, as another zlib version may. Other modes (palette, 16-bit) and images carrying
  an ICC profile or a transparent colour go through Pillow, which writes those chunks.
- JPEG ``quality=90`` with 4:2:0 chroma subsampling and no optimize/progressive pass: ~3 ms,
  the cheapest format (4:4:4 doubles the time and adds ~35% for edges nobody can see at q90).
- WebP lossy ``quality=80, method=0``: ~16 ms against ~75 ms for the default method 4, for
  files ~1.5x larger (still the smallest format, ~15-30 KiB). Pillow exposes no other speed
  setting of libwebp.

No metadata (timestamps, EXIF) is written, so the same pixels always give the same bytes.
"""

from __future__ import annotations

import io
import struct
import zlib

from isal import isal_zlib
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
        if image.mode in _PNG_COLOUR_TYPES and not _PILLOW_PNG_INFO & image.info.keys():
            return _png(image)
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


_PNG_COLOUR_TYPES = {"L": 0, "LA": 4, "RGB": 2, "RGBA": 6}
_PILLOW_PNG_INFO = {"icc_profile", "transparency"}  # chunks our writer leaves to Pillow
_PNG_SUB, _PNG_UP = 1, 2  # filter types (PNG specification, section 9)


def _png(image: Image.Image) -> bytes:
    """8-bit ``image`` (L, LA, RGB or RGBA) as a PNG: one IDAT chunk of rows filtered with Up
    where a row repeats the one above and Sub elsewhere, deflated by ISA-L at level 1 (why: the
    module's docstring)."""
    import numpy as np  # ~0.2 s to import: paid by the first PNG (the pool's warm-up), not at start

    width, height = image.size
    channels = len(image.getbands())
    span = width * channels
    rows = np.asarray(image).reshape(height, span)
    filtered = np.empty((height, 1 + span), np.uint8)  # a filter-type byte, then the row
    filtered[:, 0] = _PNG_SUB  # each byte minus the same channel of the pixel to its left
    filtered[:, 1 : 1 + channels] = rows[:, :channels]
    np.subtract(rows[:, channels:], rows[:, :-channels], out=filtered[:, 1 + channels :])
    # A row that repeats the one above is all zeros under "Up", which deflate packs best; the
    # renders repeat many (the backdrop is widened with NEAREST). Comparing whole 8-byte words
    # costs a fraction of filtering every row both ways and counting zeros.
    whole = span // 8 * 8
    words = rows[:, :whole].view(np.uint64)
    repeats = np.zeros(height, bool)
    repeats[1:] = (words[1:] == words[:-1]).all(axis=1)
    if whole < span:
        repeats[1:] &= (rows[1:, whole:] == rows[:-1, whole:]).all(axis=1)
    filtered[repeats, 0] = _PNG_UP
    filtered[repeats, 1:] = 0
    data = isal_zlib.compress(filtered.data, level=1)
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOUR_TYPES[image.mode], 0, 0, 0)
    return b"".join(
        (b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header), _chunk(b"IDAT", data), _chunk(b"IEND", b""))
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


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
