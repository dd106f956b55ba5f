"""Image-input operations (style transfer, background edit, enhance) on a Media Service image.

The input is fetched through the guarded Media client (only the configured Media Service, size
capped), decoded with a pixel limit (decompression bombs), edited in the render pool, and
encoded in the requested format.
"""

from __future__ import annotations

import io
import struct
import time
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from image_svc.edit import operations
from image_svc.encoding import MIME_TYPES, encode
from image_svc.render import MAX_SIZE, MIN_SIZE, RenderPool, RenderSubject, render
from mesh.errors import FailedPrecondition, InvalidArgument, NotFound
from mesh.media import MediaClient

MODEL = "MockEditor v1"


@dataclass(frozen=True)
class EditOp:
    """One operation with its parameters (validated by the servicer)."""

    kind: str  # "style", "background", "enhance"
    style: str = ""
    strength: float = 1.0
    action: str = ""
    color: tuple[int, int, int] = (255, 255, 255)
    scene: str = ""
    blur_radius: int = 12
    scale: int = 1
    sharpen: bool = False
    auto_contrast: bool = False


@dataclass(frozen=True)
class Edited:
    """The result of an edit."""

    data: bytes
    mime_type: str
    width: int
    height: int
    seconds: float


class _TooManyPixels(Exception):
    pass


class _Unreadable(Exception):
    """The bytes are not an image Pillow can decode completely (truncated, corrupt)."""


def decode(data: bytes, max_pixels: int) -> Image.Image:
    """The fully decoded image; ``_TooManyPixels`` over the limit, ``_Unreadable`` for a file
    that is not an image or is broken anywhere in it (a truncated PNG fails only in load())."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                if opened.width * opened.height > max_pixels:
                    raise _TooManyPixels
                opened.load()
                return opened.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _TooManyPixels from exc
    except _TooManyPixels:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as exc:
        # Pillow reports broken files with any of these (UnidentifiedImageError is an OSError).
        raise _Unreadable(str(exc)[:200]) from None


def scene_backdrop(text: str, width: int, height: int) -> Image.Image:
    """The scene drawn for a ``replace_scene`` edit, at the image's size: the renderer draws
    sizes from MIN_SIZE to MAX_SIZE only, so a smaller or larger picture gets a scene drawn
    within those bounds (same aspect ratio as far as they allow), scaled to fit."""
    w, h = (max(MIN_SIZE, min(side, MAX_SIZE)) for side in (width, height))
    scene = render(
        RenderSubject(text=text, category="scene"),
        azimuth=0,
        elevation=5,
        session_id="",
        seed=0,
        width=w,
        height=h,
    )
    return scene if scene.size == (width, height) else scene.resize((width, height))


def apply_edit(data: bytes, op: EditOp, fmt: str, max_pixels: int) -> tuple[bytes, int, int]:
    """Decode, edit and encode (runs in a pool worker)."""
    image = decode(data, max_pixels)
    if op.kind == "style":
        result = operations.style_transfer(image, op.style, op.strength)
    elif op.kind == "background":
        scene = None
        if op.action == "replace_scene":
            scene = scene_backdrop(op.scene, image.width, image.height)
        result = operations.edit_background(
            image, op.action, color=op.color, scene=scene, blur_radius=op.blur_radius
        )
    else:
        result = operations.enhance(
            image, scale=op.scale, sharpen=op.sharpen, auto_contrast=op.auto_contrast
        )
    if result.mode == "RGBA" and fmt == "jpeg":
        fmt = "png"  # a transparent background must survive; JPEG has no alpha
    return encode(result, fmt), result.width, result.height


class ImageEditor:
    """Fetches an input image from the Media Service and applies one operation."""

    def __init__(
        self, media: MediaClient, pool: RenderPool, *, max_bytes: int, max_pixels: int
    ) -> None:
        self._media = media
        self._pool = pool
        self._max_bytes = max_bytes
        self._max_pixels = max_pixels

    async def edit(self, image_url: str, op: EditOp, fmt: str) -> Edited:
        """The edited image. What is wrong with the input picture has a reason of its own, so
        the pipeline can tell the user it is their picture: NOT_FOUND ``INPUT_IMAGE_NOT_FOUND``
        when the Media Service has no such file, INVALID_ARGUMENT ``INPUT_IMAGE_UNREADABLE``
        when it is not an image, FAILED_PRECONDITION ``IMAGE_TOO_LARGE`` over the pixel limit."""
        started = time.perf_counter()
        try:
            data = await self._media.download(image_url, max_bytes=self._max_bytes)
        except NotFound as exc:
            raise NotFound(
                "image_url: the attached picture does not exist in the Media Service",
                reason="INPUT_IMAGE_NOT_FOUND",
                metadata={"field": "image_url"},
            ) from exc
        try:
            out, width, height = await self._pool.run(apply_edit, data, op, fmt, self._max_pixels)
        except (UnidentifiedImageError, _Unreadable) as exc:
            raise InvalidArgument(
                "image_url",
                "the file is not a complete image Pillow can read",
                reason="INPUT_IMAGE_UNREADABLE",
            ) from exc
        except _TooManyPixels as exc:
            raise FailedPrecondition(
                f"image_url: the image has more than {self._max_pixels} pixels",
                reason="IMAGE_TOO_LARGE",
            ) from exc
        mime = _mime_of(out)
        return Edited(out, mime, width, height, time.perf_counter() - started)


def _mime_of(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return MIME_TYPES["png"]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return MIME_TYPES["webp"]
    return MIME_TYPES["jpeg"]
