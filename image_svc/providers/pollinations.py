"""Pollinations: text-to-image over one HTTP GET on its API gateway; seedable, no reference.

Wire format (``gen.pollinations.ai``)::

    GET {base}/image/{url-encoded prompt}?model=flux&width=W&height=H&seed=S
    Authorization: Bearer KEY              (required: the gateway answers 401 without one)
    → 200, Content-Type: image/jpeg (usually), the image bytes
    → 4xx/5xx {"status": 401, "success": false,
               "error": {"code": "UNAUTHORIZED", "message": "...", ...}}

The key is required, so the provider cannot be built without one; the composition root leaves
Pollinations out of the chain, saying so in the log, when ``POLLINATIONS_API_KEY`` is empty.
The gateway's ``error.message`` is carried into the failure (with the key scrubbed), so an
exhausted balance or an unknown model reads as such in ``metadata.fallbacks`` and the logs.

Whether a seed reproduces the image depends on the model (``MODELS``): the gateway documents
the seed for flux, zimage, seedream and klein; the other models take it but promise nothing.

The prompt travels in the URL path. Cloudflare in front of Pollinations refuses URLs above about
8 KB with a 400 or 431 before the request reaches them (pollinations/pollinations#7786, #6702),
so the encoded prompt is capped at ``MAX_PROMPT_URL_BYTES`` and cut on a word boundary: prompt
builders should put the subject first and the less important hints last.

Failures map onto ``base.py``: connection errors, timeouts and 5xx are ``ProviderUnavailable``,
429 is ``ProviderRateLimited`` (``Retry-After`` honoured), 402 (no pollen left) is
``ProviderRejected`` with its own reason, other 4xx and anything that is not a decodable image
is ``ProviderRejected``. Nothing is retried here: the chain decides.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from image_svc.providers.base import (
    ImageJob,
    ModelSpec,
    ProviderImage,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    model_spec,
)
from image_svc.providers.wire import decode_image, mapped_http_errors
from mesh import providers
from mesh.retry import parse_retry_after

DEFAULT_BASE_URL = providers.POLLINATIONS_BASE_URL
IMAGE_PATH = "/image/"
DEFAULT_MODEL = providers.POLLINATIONS_IMAGE_MODEL
# Half of Cloudflare's ~8 KB URL limit, leaving room for the query string and the host.
MAX_PROMPT_URL_BYTES = 4000


@dataclass(frozen=True)
class PollinationsModel(ModelSpec):
    """A Pollinations image model; any width and height may be asked for."""


def _model(name: str, *, seeded: bool) -> PollinationsModel:
    return PollinationsModel(
        name, reference=False, seed_reproducible=seeded, formats=frozenset({"jpeg"})
    )


# The gateway's image models this adapter was checked against; the seed is documented as
# reproducible for the first four only.
MODELS: dict[str, PollinationsModel] = {
    model.name: model
    for model in (
        _model("flux", seeded=True),
        _model("zimage", seeded=True),
        _model("seedream", seeded=True),
        _model("klein", seeded=True),
        _model("turbo", seeded=False),
        _model("gptimage", seeded=False),
        _model("nanobanana", seeded=False),
    )
}


class PollinationsProvider:
    """Text-to-image through the Pollinations gateway; the seed is passed on."""

    name = "pollinations"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("the Pollinations gateway needs an API key")
        self.spec = model_spec(self.name, MODELS, model)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.supports_reference = self.spec.reference
        self.seed_reproducible = self.spec.seed_reproducible
        self._token = api_key
        self._http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {api_key}"}, transport=transport
        )

    def __repr__(self) -> str:
        return f"PollinationsProvider(base_url={self.base_url!r}, model={self.model!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def generate(self, job: ImageJob, *, timeout: float) -> ProviderImage:
        """Fetch one image for ``job`` within ``timeout`` seconds, or raise ProviderError."""
        url = f"{self.base_url}{IMAGE_PATH}{quote(cap_prompt(job.prompt), safe='')}"
        params: dict[str, str | int] = {
            "model": self.model,
            "width": job.width,
            "height": job.height,
            "seed": job.seed,
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
            return ProviderRejected(self.name, "POLLINATIONS_UNAUTHORIZED", detail)
        if status == 402:
            return ProviderRejected(self.name, "POLLINATIONS_PAYMENT_REQUIRED", detail)
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
    """``: CODE: message`` of the gateway's error body, never echoing ``secret``.

    The gateway answers ``{"success": false, "error": {"code", "message", ...}}``; an HTML page
    (Cloudflare) or any other body gives nothing.
    """
    try:
        body: Any = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    code, message = error.get("code"), error.get("message")
    text = ": ".join(str(part) for part in (code, message) if isinstance(part, str) and part)
    if secret:
        text = text.replace(secret, "***")
    return f": {text[:300]}" if text else ""
