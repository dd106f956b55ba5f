"""UploadImage: a user's picture checked, rebuilt without its metadata, put on the Media Service.

The bytes must be a still PNG, JPEG or WebP within a pixel limit (checked from the header, so a
decompression bomb is refused before its pixels are allocated) that decodes completely;
anything else is INVALID_ARGUMENT naming ``data``, before the Media Service sees a byte.

What is stored is never the uploaded file itself but one rebuilt from its pixels: a photo's
EXIF, XMP and comments (camera, time, often the GPS position) would otherwise be public at the
file's URL, and bytes after the image (a file that is also an HTML page) would go along. The
orientation a camera recorded is applied to the pixels first, so the picture stands upright
without its EXIF. Rebuilding keeps what matters: a JPEG is written with its own quantisation
tables and chroma subsampling (no visible loss), a PNG losslessly in its own mode, a lossless
WebP losslessly, and the colour profile (ICC) stays.

Decoding takes memory in proportion to the pixels (a 25 MP RGBA picture is 100 MB, twice that
while it is turned upright), so at most ``DECODE_SLOTS`` pictures are decoded at once. Each user
may store ``per_hour`` pictures in any hour (RESOURCE_EXHAUSTED beyond): every stored picture is
recorded in MongoDB (``uploads``), reserved before the work so that racing uploads count each
other, and the record is removed again when the upload is refused or fails.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass

from PIL import ExifTags, Image, JpegImagePlugin, UnidentifiedImageError

from conversation_svc.store import Store, now
from mesh.errors import InvalidArgument, ResourceExhausted
from mesh.logs import get_logger
from mesh.media import MediaClient

log = get_logger(__name__)

# What is taken, as Pillow names it, and what it is stored as. Pillow calls a camera's
# multi-picture JPEG (a .jpg from many phones) MPO: it is a JPEG to everyone else.
FORMATS = {
    "PNG": ("PNG", "image/png", "png"),
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "MPO": ("JPEG", "image/jpeg", "jpg"),
    "WEBP": ("WEBP", "image/webp", "webp"),
}
# Pillow's openers to try (its JPEG opener also recognises MPO); no other decoder runs.
OPENERS = ("PNG", "JPEG", "WEBP")
# EXIF orientation → the transposition that makes the picture upright (EXIF 2.32, 4.6.4).
UPRIGHT = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}
SWAPS_AXES = frozenset({5, 6, 7, 8})
# Pictures decoded at once per process (each may hold a few hundred MB while it is rebuilt).
DECODE_SLOTS = 2
WEBP_QUALITY = 90  # a lossy WebP is written again at this quality
_UNSAFE = re.compile(r"[^\w. -]+")


@dataclass(frozen=True)
class Checked:
    """An upload ready to store: the rebuilt file and what it is."""

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


class ImageRefused(Exception):
    """Why the bytes are not an acceptable picture, in words for the ``data`` field."""

    def __init__(self, message: str, reason: str = "NOT_AN_IMAGE") -> None:
        super().__init__(message)
        self.reason = reason


def check_image(data: bytes, max_pixels: int) -> Checked:
    """Decode ``data`` completely and rebuild it without metadata; ``ImageRefused`` says why
    it is not taken. Errors while rebuilding are this service's own and propagate."""
    try:
        image = Image.open(io.BytesIO(data), formats=OPENERS)
    except UnidentifiedImageError as exc:
        raise ImageRefused("the file is not a PNG, JPEG or WebP picture") from exc
    except Image.DecompressionBombError as exc:
        raise ImageRefused(
            f"the picture has more than the {max_pixels:,} pixels accepted", "IMAGE_TOO_LARGE"
        ) from exc
    except Exception as exc:  # a header Pillow recognised but could not read
        raise _damaged(exc) from exc
    with image:
        if image.width * image.height > max_pixels:
            raise ImageRefused(
                f"the picture has {image.width}×{image.height} pixels, "
                f"more than the {max_pixels:,} accepted",
                "IMAGE_TOO_LARGE",
            )
        if image.format != "MPO" and getattr(image, "is_animated", False):
            raise ImageRefused(
                "the picture is animated; send a still PNG, JPEG or WebP",
                "ANIMATED_IMAGE",
            )
        try:
            image.load()
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error...
            raise _damaged(exc) from exc
        return _rebuild(image, data, _orientation(image))


def _damaged(exc: Exception) -> ImageRefused:
    """The refusal of a file that does not decode; Pillow's own words go to the log only."""
    log.info("upload refused: does not decode", error=f"{type(exc).__name__}: {exc}")
    return ImageRefused("the file is damaged or incomplete: it does not decode")


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1: upright); a damaged EXIF block counts as none (it is dropped)."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # any parse error of metadata that is discarded anyway
        return 1
    return value if isinstance(value, int) else 1


def _rebuild(image: Image.Image, original: bytes, orientation: int) -> Checked:
    """``image`` written again in its format, upright, with no EXIF, XMP or comment."""
    fmt, mime, extension = FORMATS[image.format or ""]
    options: dict[str, object] = {"exif": b"", "xmp": b""}
    if icc := image.info.get("icc_profile"):
        options["icc_profile"] = icc
    if fmt == "JPEG":
        options["comment"] = b""
        if isinstance(image, JpegImagePlugin.JpegImageFile):  # always; MPO is one too
            tables = image.quantization
            if orientation in SWAPS_AXES:
                # A quarter turn transposes every 8×8 block's frequencies: transposed tables
                # quantise them exactly as before (mean change ~0.08 instead of ~1.8).
                tables = {
                    k: [t[c * 8 + r] for r in range(8) for c in range(8)] for k, t in tables.items()
                }
            options["qtables"] = tables
            sampling = JpegImagePlugin.get_sampling(image)
            if sampling >= 0:
                options["subsampling"] = sampling
        if dpi := image.info.get("dpi"):
            options["dpi"] = dpi
    elif fmt == "WEBP":
        lossless = _webp_bitstream(original) == b"VP8L"
        options |= {"lossless": True} if lossless else {"quality": WEBP_QUALITY}
    upright = image
    for step in UPRIGHT.get(orientation, ()):
        upright = upright.transpose(step)
    out = io.BytesIO()
    upright.save(out, fmt, **options)
    return Checked(out.getvalue(), mime, extension, upright.width, upright.height)


def _webp_bitstream(data: bytes) -> bytes:
    """The FourCC of a WebP's image chunk: ``VP8L`` lossless, ``VP8 `` lossy (RIFF chunks, each
    a FourCC, a little-endian size and the data padded to even length; Pillow does not say)."""
    at = 12  # after "RIFF", the file size and "WEBP"
    while at + 8 <= len(data):
        fourcc, size = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "little")
        if fourcc in (b"VP8 ", b"VP8L"):
            return fourcc
        at += 8 + size + (size & 1)
    return b""


def safe_filename(name: str, extension: str) -> str:
    """The last path part of ``name``, letters, digits and ``._ -`` only, with ``extension``."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    stem = _UNSAFE.sub("", base.rsplit(".", 1)[0]).strip(" .")[:80]
    return f"{stem or 'upload'}.{extension}"


class Uploader:
    """Checks uploaded pictures, stores them on the Media Service and records them."""

    def __init__(
        self, media: MediaClient, store: Store, *, max_bytes: int, max_pixels: int, per_hour: int
    ) -> None:
        self._media = media
        self._store = store
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.per_hour = per_hour
        self._decoding = asyncio.Semaphore(DECODE_SLOTS)

    async def store(self, owner: str, data: bytes, filename: str) -> Stored:
        """Check ``data``, store it and say where; INVALID_ARGUMENT for what is not taken,
        RESOURCE_EXHAUSTED over the hourly quota."""
        if not data:
            raise InvalidArgument("data", "is required: the bytes of a PNG, JPEG or WebP picture")
        if len(data) > self.max_bytes:
            raise InvalidArgument(
                "data",
                f"the file is {len(data):,} bytes, more than the {self.max_bytes:,} accepted; "
                "scale it down first",
                reason="IMAGE_TOO_LARGE",
            )
        since = now() - dt.timedelta(hours=1)
        upload_id = await self._store.reserve_upload(owner, since, self.per_hour)
        if upload_id is None:
            raise ResourceExhausted(
                f"you have reached the limit of {self.per_hour} pictures an hour; try again later",
                reason="UPLOAD_QUOTA_EXCEEDED",
            )
        try:
            try:
                async with self._decoding:
                    checked = await asyncio.to_thread(check_image, data, self.max_pixels)
            except ImageRefused as exc:
                raise InvalidArgument("data", str(exc), reason=exc.reason) from exc
            url = await self._media.upload(
                checked.data,
                filename=safe_filename(filename, checked.extension),
                mime_type=checked.mime_type,
            )
        except BaseException:
            await asyncio.shield(self._store.forget_upload(upload_id))
            raise
        stored = Stored(url, checked.mime_type, checked.width, checked.height, len(checked.data))
        await self._store.stored_upload(
            upload_id,
            {
                "url": stored.url,
                "mime_type": stored.mime_type,
                "size_bytes": stored.size_bytes,
                "width": stored.width,
                "height": stored.height,
            },
        )
        return stored
