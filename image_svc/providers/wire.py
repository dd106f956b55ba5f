"""Helpers the HTTP image providers share: reading image bytes, headers and transport errors.

- ``probe_image`` / ``decode_image``: decode an answer fully with Pillow (JPEG, PNG or WebP) and
  read its MIME type and real size; bytes that do not decode are ``ProviderRejected``.
- ``sniff_mime``: the MIME type of a reference image from its header, PNG when unknown.
- ``mapped_http_errors``: turns httpx's transport errors and timeouts into ``base.py`` errors
  with the provider's own reason prefix.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from PIL import Image

from image_svc.providers.base import ProviderRejected, ProviderUnavailable

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")


def probe_image(data: bytes, what: str = "the answer") -> tuple[str, int, int]:
    """Decode ``data`` fully; return its MIME type and real size, or raise ValueError.

    ``what`` names the bytes in the error message ("<what> is not a decodable image ...").
    """
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
            image.load()
            mime_type = Image.MIME[image.format or ""]
            return mime_type, image.width, image.height
    except Exception as exc:  # Pillow raises many types on corrupt data; all mean "not an image"
        raise ValueError(f"{what} is not a decodable image ({len(data)} bytes)") from exc


async def decode_image(
    data: bytes, provider: str, reason: str, what: str = "the answer"
) -> tuple[str, int, int]:
    """``probe_image`` off the event loop; undecodable bytes raise ``ProviderRejected(reason)``."""
    try:
        return await asyncio.to_thread(probe_image, data, what)
    except ValueError as exc:
        raise ProviderRejected(provider, reason, str(exc)) from None


def sniff_mime(data: bytes) -> str:
    """The MIME type of image bytes from their header; PNG when Pillow cannot tell."""
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
            return Image.MIME.get(image.format or "", "image/png")
    except Exception:  # an unreadable reference is the provider's to refuse, with its own message
        return "image/png"


@contextmanager
def mapped_http_errors(provider: str, prefix: str, timeout: float) -> Iterator[None]:
    """Map transport failures inside the block onto ``base.py`` errors.

    ``TimeoutError`` / ``httpx.TimeoutException`` → ``ProviderUnavailable("<prefix>_TIMEOUT")``,
    ``httpx.DecodingError`` → ``ProviderRejected("<prefix>_BAD_RESPONSE")``, any other
    ``httpx.HTTPError`` → ``ProviderUnavailable("<prefix>_UNAVAILABLE")``. Put it outside
    ``asyncio.timeout(timeout)`` so that the deadline's ``TimeoutError`` is mapped too.
    """
    try:
        yield
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise ProviderUnavailable(
            provider, f"{prefix}_TIMEOUT", f"no image within {timeout:g} s"
        ) from exc
    except httpx.DecodingError as exc:
        raise ProviderRejected(
            provider, f"{prefix}_BAD_RESPONSE", "the answer could not be decoded"
        ) from exc
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(
            provider, f"{prefix}_UNAVAILABLE", f"request failed: {type(exc).__name__}"
        ) from exc
