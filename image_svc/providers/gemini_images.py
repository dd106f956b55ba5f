"""Gemini native image output through google-genai, with an optional reference image.

Wire format, as google-genai 3.4 sends it (checked against the fake server)::

    POST {base}/v1beta/models/gemini-3.1-flash-image:generateContent
    x-goog-api-key: KEY
    X-Server-Timeout: <ceil(timeout) seconds>
    {"contents": [{"role": "user", "parts": [
         {"text": "..."}, {"inlineData": {"mime_type": "image/png", "data": "<base64>"}}]}],
     "generationConfig": {"seed": S, "responseModalities": ["IMAGE", "TEXT"],
                          "imageConfig": {"aspectRatio": "16:9", "imageSize": "1K"}}}
    → 200 {"candidates": [{"content": {"parts": [{"text": ...}, {"inlineData": {...}}]},
                           "finishReason": "STOP"}], "modelVersion": ...}

``v1beta`` is pinned: Google documents image output (``responseModalities``, ``imageConfig``)
with ``v1beta`` requests, and the published ``v1`` definition lacks those fields
(docs/image-service.md cites the pages). google-genai 3.4 itself defaults to ``v1``
(``GOOGLE_AI_API_DEFAULT_VERSION``), whatever the api-versions page says of "the SDKs", so
without the pin every image request would go to ``v1``. Pinning it also keeps the SDK's own
environment variable (``GOOGLE_GENAI_API_VERSION``) from changing it behind the settings' back.
The SDK's HTTP retries are switched off (one attempt): the chain decides what to retry; without
retry options it would also sleep 1-10 s and retry a refused connection on its own. The SDK runs
on our ``httpx.AsyncClient`` rather than its own aiohttp session, whose ``ClientSession``
subclass raises a DeprecationWarning under aiohttp 3.14 (and the pool is then ours to close).

Only aspect ratios and a size tier can be asked for, per model (``MODELS``); the real size is
read from the decoded bytes. The seed is an int32 on the wire, so the job's 32-bit seed is
folded into 0 .. 2**31-1; Google documents it as best effort, so an image is not promised to
come back the same.

Failures map onto ``base.py``: ``ServerError`` (5xx), timeouts and connection errors are
``ProviderUnavailable``; a 429 is ``ProviderRateLimited`` with the ``google.rpc.RetryInfo``
delay; other 4xx (an unknown or retired model answers 404), a blocked prompt
(``promptFeedback.blockReason``), a safety finish reason, an answer without an image and
undecodable bytes are ``ProviderRejected``.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

import httpx
from google import genai
from google.genai import errors, types

from image_svc.providers.base import (
    ImageJob,
    ModelSpec,
    ProviderError,
    ProviderImage,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    model_spec,
)
from image_svc.providers.wire import decode_image, sniff_mime
from mesh import providers
from mesh.retry import retry_info_delay

DEFAULT_BASE_URL = providers.GEMINI_BASE_URL
API_VERSION = providers.GEMINI_API_VERSION
DEFAULT_MODEL = providers.GEMINI_IMAGE_MODEL
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
WIDE_ASPECT_RATIOS = (*ASPECT_RATIOS, "1:4", "4:1", "1:8", "8:1")


@dataclass(frozen=True)
class GeminiImageModel(ModelSpec):
    """A Gemini image model: the aspect ratios and size tiers its ``imageConfig`` takes."""

    aspect_ratios: tuple[str, ...] = ASPECT_RATIOS
    # Size tiers by the longest edge they give, smallest first ("1K" ≈ 1024 px).
    image_sizes: tuple[tuple[str, int], ...] = (("1K", 1024), ("2K", 2048), ("4K", 4096))


# Current Gemini image models (GA, no shutdown date announced when checked); the seed is best
# effort, so none promises a reproducible image. See docs/image-service.md for the sources.
MODELS: dict[str, GeminiImageModel] = {
    model.name: model
    for model in (
        GeminiImageModel(
            "gemini-3.1-flash-image",
            reference=True,
            seed_reproducible=False,
            formats=frozenset({"png"}),
            aspect_ratios=WIDE_ASPECT_RATIOS,
            image_sizes=(("512", 512), ("1K", 1024), ("2K", 2048), ("4K", 4096)),
        ),
        GeminiImageModel(
            "gemini-3-pro-image",
            reference=True,
            seed_reproducible=False,
            formats=frozenset({"png"}),
        ),
    )
}
SAFETY_FINISH_REASONS = frozenset(
    {
        types.FinishReason.SAFETY,
        types.FinishReason.IMAGE_SAFETY,
        types.FinishReason.PROHIBITED_CONTENT,
        types.FinishReason.IMAGE_PROHIBITED_CONTENT,
        types.FinishReason.BLOCKLIST,
        types.FinishReason.SPII,
    }
)
# Gemini answers a bad key with 400 INVALID_ARGUMENT; the ErrorInfo reason tells it apart.
KEY_ERROR_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED"})


class GeminiImagesProvider:
    """Text-to-image and reference-guided images through Gemini's native image output."""

    name = "gemini"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        api_version: str = API_VERSION,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("Gemini needs an API key")
        self.spec = model_spec(self.name, MODELS, model)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.supports_reference = self.spec.reference
        self.seed_reproducible = self.spec.seed_reproducible
        self._api_key = api_key
        self._http = httpx.AsyncClient(transport=transport)
        self._client = genai.Client(
            api_key=api_key,
            vertexai=False,
            http_options=types.HttpOptions(
                base_url=self.base_url,
                api_version=api_version,
                retry_options=types.HttpRetryOptions(attempts=1),
                httpx_async_client=self._http,
            ),
        )

    def __repr__(self) -> str:
        return f"GeminiImagesProvider(base_url={self.base_url!r}, model={self.model!r})"

    async def aclose(self) -> None:
        """Close the connection pools: ours, and the sync one the SDK always builds."""
        await self._client.aio.aclose()
        self._client.close()
        await self._http.aclose()

    async def generate(self, job: ImageJob, *, timeout: float) -> ProviderImage:
        """Produce one image for ``job`` within ``timeout`` seconds, or raise ProviderError."""
        contents: list[Any] = [job.prompt]
        if job.reference is not None and self.supports_reference:
            mime_type = job.reference_mime or sniff_mime(job.reference)
            contents.append(types.Part.from_bytes(data=job.reference, mime_type=mime_type))
        config = types.GenerateContentConfig(
            response_modalities=["IMAGE", "TEXT"],
            seed=job.seed & 0x7FFFFFFF,
            image_config=types.ImageConfig(
                aspect_ratio=nearest_aspect(job.width, job.height, self.spec.aspect_ratios),
                image_size=size_tier(job.width, job.height, self.spec.image_sizes),
            ),
            http_options=types.HttpOptions(timeout=max(1, math.ceil(timeout * 1000))),
        )
        try:
            async with asyncio.timeout(timeout):
                response = await self._client.aio.models.generate_content(
                    model=self.model, contents=contents, config=config
                )
                return await self._image(response)
        except ProviderError:
            raise
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ProviderUnavailable(
                self.name, "GEMINI_TIMEOUT", f"no image within {timeout:g} s"
            ) from exc
        except errors.ClientError as exc:
            raise self._client_error(exc) from exc
        except errors.APIError as exc:  # ServerError: 5xx
            raise ProviderUnavailable(self.name, "GEMINI_UNAVAILABLE", self._detail(exc)) from exc
        except (ValueError, httpx.DecodingError) as exc:  # not JSON, or JSON the SDK cannot parse
            raise ProviderRejected(
                self.name, "GEMINI_BAD_RESPONSE", "the answer could not be parsed"
            ) from exc
        except (httpx.HTTPError, OSError) as exc:
            raise ProviderUnavailable(
                self.name, "GEMINI_UNAVAILABLE", f"request failed: {type(exc).__name__}"
            ) from exc

    async def _image(self, response: types.GenerateContentResponse) -> ProviderImage:
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            raise ProviderRejected(
                self.name, "GEMINI_SAFETY_BLOCKED", f"prompt blocked: {feedback.block_reason.value}"
            )
        candidate = response.candidates[0] if response.candidates else None
        parts = candidate.content.parts if candidate and candidate.content else None
        images = [
            part.inline_data.data
            for part in parts or []
            if part.inline_data is not None and part.inline_data.data and not part.thought
        ]
        if not images:
            finish = candidate.finish_reason if candidate else None
            if finish is not None and finish in SAFETY_FINISH_REASONS:
                raise ProviderRejected(
                    self.name, "GEMINI_SAFETY_BLOCKED", f"generation stopped: {finish.value}"
                )
            text = " ".join(part.text for part in parts or [] if part.text)[:200]
            reason = finish.value if finish else "none"
            raise ProviderRejected(
                self.name,
                "GEMINI_NO_IMAGE",
                f"the answer has no image (finish reason {reason})" + (f": {text}" if text else ""),
            )
        # Thinking models may send drafts first; the last image part is the answer.
        data = images[-1]
        mime_type, width, height = await decode_image(
            data, self.name, "GEMINI_BAD_RESPONSE", what="the image part"
        )
        return ProviderImage(data, mime_type, width, height, response.model_version or self.model)

    def _detail(self, exc: errors.APIError) -> str:
        message = (exc.message or "").replace(self._api_key, "***")[:300]
        return f"HTTP {exc.code} {exc.status or ''}".rstrip() + (f": {message}" if message else "")

    def _client_error(self, exc: errors.ClientError) -> ProviderError:
        detail = self._detail(exc)
        if exc.code == 429:
            delay = retry_info_delay(_status_details(exc.details))
            return ProviderRateLimited(self.name, "GEMINI_RATE_LIMITED", detail, retry_after=delay)
        if exc.code in (401, 403) or _error_reasons(exc.details) & KEY_ERROR_REASONS:
            return ProviderRejected(self.name, "GEMINI_UNAUTHORIZED", detail)
        if exc.code == 408:
            return ProviderUnavailable(self.name, "GEMINI_TIMEOUT", detail)
        return ProviderRejected(self.name, "GEMINI_REJECTED", detail)


def nearest_aspect(width: int, height: int, ratios: tuple[str, ...] = ASPECT_RATIOS) -> str:
    """The aspect ratio of ``ratios`` closest to ``width``:``height``."""
    want = math.log(max(1, width) / max(1, height))

    def distance(ratio: str) -> float:
        w, h = ratio.split(":")
        return abs(math.log(int(w) / int(h)) - want)

    return min(ratios, key=distance)


def size_tier(width: int, height: int, tiers: tuple[tuple[str, int], ...]) -> str:
    """The size tier whose longest edge is nearest the job's (by ratio, so 1280 px is "1K")."""
    edge = math.log(max(1, width, height))
    return min(tiers, key=lambda tier: abs(math.log(tier[1]) - edge))[0]


def _status_details(details: Any) -> list[dict[str, Any]]:
    """The ``error.details`` entries of a google.rpc.Status JSON body."""
    error = details.get("error") if isinstance(details, dict) else None
    items = error.get("details") if isinstance(error, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _error_reasons(details: Any) -> set[str]:
    """The ``reason`` of every ``google.rpc.ErrorInfo`` entry."""
    return {
        str(item.get("reason"))
        for item in _status_details(details)
        if str(item.get("@type", "")).endswith("google.rpc.ErrorInfo")
    }
