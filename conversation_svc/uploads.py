"""UploadImage: a user's input image checked, cleaned of its metadata, and put on the Media Service.

The bytes are decoded with Pillow under a pixel limit (a decompression bomb is refused before
its pixels are allocated) and must be a whole PNG, JPEG or WebP; anything else is
INVALID_ARGUMENT naming ``data``, before the Media Service sees a byte. A photo's EXIF block
(camera, time, often the GPS position) would be public on the Media Service, so an image that
carries one is re-encoded without it, its orientation applied to the pixels first; an image
without metadata is stored byte for byte.
"""

from __future__ import annotations

import asyncio
import io
import re
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from mesh.errors import InvalidArgument
from mesh.media import MediaClient

# Pillow calls a camera's multi-picture JPEG (a .jpg from many phones) MPO: it is a JPEG.
FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "MPO": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class Checked:
    """An upload ready to store: the bytes to keep and what they are."""

    data: bytes
    mime_type: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class Stored:
    """Where an upload went, and what it is."""

    url: str
    mime_type: str
    width: int
    height: int
    size_bytes: int


class _Refused(Exception):
    """Why the bytes are not an acceptable image, in words for the ``data`` field."""

    def __init__(self, message: str, reason: str = "NOT_AN_IMAGE") -> None:
        super().__init__(message)
        self.reason = reason


def check_image(data: bytes, max_pixels: int) -> Checked:
    """Decode ``data`` fully and return what to store; raises ``_Refused`` with the reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = FORMATS.get(image.format or "")
                if kind is None:
                    raise _Refused(
                        f"{image.format or 'this'} images are not accepted; send PNG, JPEG or WebP"
                    )
                if image.width * image.height > max_pixels:
                    raise _Refused(
                        f"the image has {image.width}×{image.height} pixels, "
                        f"more than the {max_pixels:,} accepted",
                        "IMAGE_TOO_LARGE",
                    )
                image.load()  # a truncated or corrupt file fails here, not in the editor later
                width, height = image.size
                if not image.getexif():
                    return Checked(data, kind[0], kind[1], width, height)
                return _without_metadata(image, kind)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _Refused(
            f"the image has more than the {max_pixels:,} pixels accepted", "IMAGE_TOO_LARGE"
        ) from exc
    except UnidentifiedImageError as exc:
        raise _Refused("the bytes are not an image (PNG, JPEG or WebP expected)") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # what Pillow raises for broken files
        raise _Refused(f"the image could not be decoded ({exc})") from exc


def _without_metadata(image: Image.Image, kind: tuple[str, str]) -> Checked:
    """Re-encode ``image`` in its own format, upright, without EXIF; its colour profile kept."""
    fmt = "JPEG" if image.format == "MPO" else image.format or "PNG"
    rotated = image.getexif().get(ExifTags.Base.Orientation, 1) not in (0, 1)
    source = ImageOps.exif_transpose(image) if rotated else image
    options: dict[str, object] = {"exif": b""}
    if icc := image.info.get("icc_profile"):
        options["icc_profile"] = icc
    if fmt == "JPEG":
        # An unrotated JPEG keeps its own quantisation tables: no visible loss. (Pillow keeps
        # them only from a plain JPEG; an MPO's first picture is saved at quality 95.)
        keep = image.format == "JPEG" and not rotated
        options |= {"quality": "keep", "subsampling": "keep"} if keep else {"quality": 95}
    elif fmt == "WEBP":
        options["quality"] = 95
    out = io.BytesIO()
    source.save(out, fmt, **options)
    return Checked(out.getvalue(), kind[0], kind[1], source.width, source.height)


def safe_filename(name: str, extension: str) -> str:
    """The last path part of ``name``, reduced to plain characters, with ``extension``."""
    base = re.split(r"[\\/]", name)[-1]
    stem = _UNSAFE.sub("", base.rsplit(".", 1)[0]).strip(" .")[:80]
    return f"{stem or 'upload'}.{extension}"


class Uploader:
    """Checks uploaded images and stores them on the Media Service."""

    def __init__(self, media: MediaClient, *, max_bytes: int, max_pixels: int) -> None:
        self._media = media
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    async def store(self, data: bytes, filename: str) -> Stored:
        """Check ``data``, store it and say where; INVALID_ARGUMENT for what is not accepted."""
        if not data:
            raise InvalidArgument("data", "is required: the bytes of a PNG, JPEG or WebP image")
        if len(data) > self.max_bytes:
            raise InvalidArgument(
                "data",
                f"the file is {len(data):,} bytes, more than the {self.max_bytes:,} accepted; "
                "scale it down first",
                reason="IMAGE_TOO_LARGE",
            )
        try:
            checked = await asyncio.to_thread(check_image, data, self.max_pixels)
        except _Refused as exc:
            raise InvalidArgument("data", str(exc), reason=exc.reason) from exc
        url = await self._media.upload(
            checked.data,
            filename=safe_filename(filename, checked.extension),
            mime_type=checked.mime_type,
        )
        return Stored(url, checked.mime_type, checked.width, checked.height, len(checked.data))
