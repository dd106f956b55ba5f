"""Pollinations: free text-to-image over one HTTP GET, seedable, no reference image.

Wire format (``image.pollinations.ai``)::

    GET {base}/prompt/{url-encoded prompt}
        ?width=W&height=H&seed=S&model=flux&nologo=true&private=true
    Authorization: Bearer TOKEN            (optional; raises the anonymous rate limit)
    → 200, Content-Type: image/jpeg (usually), the image bytes

The prompt travels in the URL path. Cloudflare in front of Pollinations refuses URLs above about
8 KB with a 400 or 431 before the request reaches them (pollinations/pollinations#7786, #6702),
so the encoded prompt is capped at ``MAX_PROMPT_URL_BYTES`` and cut on a word boundary: prompt
builders should put the subject first and the less important hints last.

Failures map onto ``base.py``: connection errors, timeouts and 5xx are ``ProviderUnavailable``,
429 is ``ProviderRateLimited`` (``Retry-After`` honoured), other 4xx and anything that is not a
decodable image is ``ProviderRejected``. Nothing is retried here: the chain decides.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx

from image_svc.providers.base import (
    ImageJob,
    ProviderImage,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from image_svc.providers.wire import decode_image, mapped_http_errors
from mesh.retry import parse_retry_after

DEFAULT_BASE_URL = "https://image.pollinations.ai"
# Half of Cloudflare's ~8 KB URL limit, leaving room for the query string and the host.
MAX_PROMPT_URL_BYTES = 4000


class PollinationsProvider:
    """Text-to-image through Pollinations; the seed is passed on, so a seed gives one image."""

    name = "pollinations"
    supports_reference = False

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        token: str = "",
        model: str = "flux",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(headers=headers, transport=transport)

    def __repr__(self) -> str:
        return f"PollinationsProvider(base_url={self.base_url!r}, model={self.model!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def generate(self, job: ImageJob, *, timeout: float) -> ProviderImage:
        """Fetch one image for ``job`` within ``timeout`` seconds, or raise ProviderError."""
        url = f"{self.base_url}/prompt/{quote(cap_prompt(job.prompt), safe='')}"
        params: dict[str, str | int] = {
            "width": job.width,
            "height": job.height,
            "seed": job.seed,
            "model": self.model,
            "nologo": "true",
            "private": "true",
        }
        with mapped_http_errors(self.name, "POLLINATIONS", timeout):
            async with asyncio.timeout(timeout):
                response = await self._http.get(url, params=params, timeout=timeout)
                content_type = response.headers.get("content-type", "")
                if response.status_code == 200 and content_type.startswith("image/"):
                    return await self._decode(response.content)
        raise self._error(response, content_type)

    async def _decode(self, data: bytes) -> ProviderImage:
        mime_type, width, height = await decode_image(data, self.name, "POLLINATIONS_BAD_RESPONSE")
        return ProviderImage(data, mime_type, width, height, self.model)

    def _error(self, response: httpx.Response, content_type: str) -> Exception:
        status = response.status_code
        detail = f"HTTP {status}{_detail(response, self._token)}"
        if status == 429:
            return ProviderRateLimited(
                self.name,
                "POLLINATIONS_RATE_LIMITED",
                detail,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        if status >= 500:
            return ProviderUnavailable(self.name, "POLLINATIONS_UNAVAILABLE", detail)
        if status in (401, 403):
            return ProviderRejected(self.name, "POLLINATIONS_UNAUTHORIZED", f"HTTP {status}")
        if 400 <= status < 500:
            return ProviderRejected(self.name, "POLLINATIONS_REJECTED", detail)
        return ProviderRejected(
            self.name,
            "POLLINATIONS_BAD_RESPONSE",
            f"HTTP {status} with {content_type or 'no content type'}, not an image",
        )


def cap_prompt(prompt: str, limit: int = MAX_PROMPT_URL_BYTES) -> str:
    """Collapse whitespace and cut ``prompt`` so its URL encoding fits in ``limit`` bytes."""
    text = " ".join(prompt.split())
    if len(quote(text, safe="")) <= limit:
        return text
    size = 0
    for index, char in enumerate(text):
        size += len(quote(char, safe=""))
        if size > limit:
            head = text[:index]
            if char == " ":  # the cut falls between two words
                return head
            before, space, _ = head.rpartition(" ")
            return before if space and before else head
    return text


def _detail(response: httpx.Response, secret: str) -> str:
    """A short description of an error body (JSON or an HTML page), never echoing ``secret``."""
    try:
        body: Any = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        message = body.get("message") or body.get("error")
        if isinstance(message, str) and message:
            if secret:
                message = message.replace(secret, "***")
            return f": {message[:200]}"
    return ""
