"""OpenAI Images API: text-to-image, and image edits for the consistency (reference) mode.

Wire format (``api.openai.com``)::

    POST {base}/v1/images/generations      Authorization: Bearer KEY, JSON
        {"model": "gpt-image-2.6-flare", "prompt": "...", "size": "1536x864", "n": 1}
        (+ "output_format": "jpeg" | "webp" when the job prefers those to PNG)
    POST {base}/v1/images/edits            Authorization: Bearer KEY, multipart/form-data
        image=<reference file>, prompt, model, size, n=1 (, output_format)
    → 200 {"created": 1700000000, "data": [{"b64_json": "..."}], ...}
    → 4xx/5xx {"error": {"message": "...", "type": "...", "param": ..., "code": "..."}}

The models this adapter was checked against are the rows of ``MODELS`` (the GPT Image 2
family); the older image models are shut down and a retired name answers 404
``model_not_found``. The GPT Image 2 models always answer base64 and take any size whose edges
are multiples of 16, the longest at most 3840 px, the ratio at most 3:1 and the area within
``MIN_PIXELS`` .. ``MAX_PIXELS``: ``fit_size`` turns the job's size into the nearest such size
and the real size is read from the decoded bytes. They keep a reference image's details on
their own (no ``input_fidelity`` parameter).

There is **no seed parameter**: the same job can give different images. Consistency across the
angles of one subject comes from the prompt's consistency hints and, in reference mode, from the
main view passed to the edits endpoint.

Failures map onto ``base.py``: connection errors, timeouts, 408 and 5xx are
``ProviderUnavailable``; 429 is ``ProviderRateLimited`` (``retry-after-ms`` / ``Retry-After``
honoured; ``insufficient_quota`` has its own reason); a content-policy refusal is
``ProviderRejected`` with ``OPENAI_CONTENT_POLICY``; other 4xx and unusable answers are
``ProviderRejected``. Nothing is retried here: the chain decides. The key is never put in an
error: the provider's own 401 message, which echoes part of it, is dropped.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
from dataclasses import dataclass
from typing import Any

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
from image_svc.providers.wire import decode_image, mapped_http_errors, sniff_mime
from mesh import providers
from mesh.retry import retry_after_headers

DEFAULT_BASE_URL = providers.OPENAI_BASE_URL
GENERATIONS_PATH = "/v1/images/generations"
EDITS_PATH = "/v1/images/edits"

DEFAULT_MODEL = providers.OPENAI_IMAGE_MODEL
Size = tuple[int, int]
# The GPT Image 2 size rules: edges multiples of 16, longest edge, ratio and area bounds.
SIZE_STEP = 16
MAX_EDGE = 3840
MAX_RATIO = 3.0
MIN_PIXELS = 655_360
MAX_PIXELS = 8_294_400
OUTPUT_FORMATS = frozenset({"png", "jpeg", "webp"})


@dataclass(frozen=True)
class OpenAIImageModel(ModelSpec):
    """An OpenAI image model; every current one takes any size within the GPT Image 2 rules."""


# The GPT Image 2 family (no shutdown date announced when checked). None has a seed.
MODELS: dict[str, OpenAIImageModel] = {
    name: OpenAIImageModel(name, reference=True, seed_reproducible=False, formats=OUTPUT_FORMATS)
    for name in (
        "gpt-image-2.6-flare",
        "gpt-image-2.6-sunburst",
        "gpt-image-2.5-flare",
        "gpt-image-2.5-sunburst",
        "gpt-image-2",
    )
}
CONTENT_POLICY_CODES = frozenset({"moderation_blocked"})
_FILE_NAMES = {
    "image/png": "reference.png",
    "image/jpeg": "reference.jpg",
    "image/webp": "reference.webp",
}


class OpenAIImagesProvider:
    """Text-to-image (and reference edits) through the OpenAI Images API; no seed exists there."""

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("the OpenAI Images API needs an API key")
        self.base_url = base_url.rstrip("/")
        self.spec = model_spec(self.name, MODELS, model)
        self.model = model
        self.supports_reference = self.spec.reference
        self.seed_reproducible = self.spec.seed_reproducible
        self._api_key = api_key
        self._http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {api_key}"}, transport=transport
        )

    def __repr__(self) -> str:
        return f"OpenAIImagesProvider(base_url={self.base_url!r}, model={self.model!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def generate(self, job: ImageJob, *, timeout: float) -> ProviderImage:
        """Generate (or, with a reference, edit) one image within ``timeout`` seconds."""
        width, height = fit_size(job.width, job.height)
        size = f"{width}x{height}"
        with mapped_http_errors(self.name, "OPENAI", timeout):
            async with asyncio.timeout(timeout):
                if job.reference is not None and self.supports_reference:
                    response = await self._edit(job, job.reference, size, timeout)
                else:
                    response = await self._generate(job, size, timeout)
                if response.status_code == 200:
                    return await self._decode(response)
        raise self._error(response)

    async def _generate(self, job: ImageJob, size: str, timeout: float) -> httpx.Response:
        body: dict[str, Any] = {"model": self.model, "prompt": job.prompt, "size": size, "n": 1}
        if output_format := self._output_format(job):
            body["output_format"] = output_format
        return await self._http.post(self.base_url + GENERATIONS_PATH, json=body, timeout=timeout)

    async def _edit(
        self, job: ImageJob, reference: bytes, size: str, timeout: float
    ) -> httpx.Response:
        mime_type = job.reference_mime or sniff_mime(reference)
        file_name = _FILE_NAMES.get(mime_type, "reference.png")
        fields = {"model": self.model, "prompt": job.prompt, "size": size, "n": "1"}
        if output_format := self._output_format(job):
            fields["output_format"] = output_format
        return await self._http.post(
            self.base_url + EDITS_PATH,
            data=fields,
            files={"image": (file_name, reference, mime_type)},
            timeout=timeout,
        )

    def _output_format(self, job: ImageJob) -> str | None:
        """JPEG or WebP straight from the model when it offers them; PNG is the default."""
        fmt = {"jpg": "jpeg"}.get(job.fmt.lower(), job.fmt.lower())
        if fmt == "png" or fmt not in self.spec.formats:
            return None
        return fmt

    async def _decode(self, response: httpx.Response) -> ProviderImage:
        try:
            body: Any = response.json()
        except ValueError:
            raise self._bad("the answer is not JSON") from None
        data = body.get("data") if isinstance(body, dict) else None
        item = data[0] if isinstance(data, list) and data else None
        encoded = item.get("b64_json") if isinstance(item, dict) else None
        if not isinstance(encoded, str) or not encoded:
            raise self._bad("the answer has no data[0].b64_json")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise self._bad("data[0].b64_json is not valid base64") from None
        mime_type, width, height = await decode_image(raw, self.name, "OPENAI_BAD_RESPONSE")
        return ProviderImage(raw, mime_type, width, height, self.model)

    def _bad(self, message: str) -> ProviderRejected:
        return ProviderRejected(self.name, "OPENAI_BAD_RESPONSE", message)

    def _error(self, response: httpx.Response) -> Exception:
        status = response.status_code
        code, message = _error_fields(response)
        message = message.replace(self._api_key, "***")[:300]
        head = f"HTTP {status}" + (f" {code}" if code else "")
        detail = head + (f": {message}" if message else "")
        if status == 429:
            return ProviderRateLimited(
                self.name,
                "OPENAI_QUOTA_EXCEEDED" if code == "insufficient_quota" else "OPENAI_RATE_LIMITED",
                detail,
                retry_after=retry_after_headers(response.headers),
            )
        if status == 408 or status >= 500:
            return ProviderUnavailable(self.name, "OPENAI_UNAVAILABLE", detail)
        if status in (401, 403):
            # OpenAI's own message repeats part of the key: keep only the status and code.
            return ProviderRejected(
                self.name, "OPENAI_UNAUTHORIZED", f"{head}: the API key was refused"
            )
        if code in CONTENT_POLICY_CODES:
            return ProviderRejected(self.name, "OPENAI_CONTENT_POLICY", detail)
        if 400 <= status < 500:
            return ProviderRejected(self.name, "OPENAI_REJECTED", detail)
        return self._bad(f"unexpected HTTP {status}")


def fit_size(width: int, height: int) -> Size:
    """The size nearest ``width``×``height`` that the GPT Image 2 rules allow.

    The ratio is clamped to 3:1, the area to ``MIN_PIXELS`` .. ``MAX_PIXELS`` and the longest
    edge to ``MAX_EDGE``; both edges then round to multiples of 16, and a last nudge of one step
    at a time puts back whatever rounding broke.
    """
    ratio = min(MAX_RATIO, max(1 / MAX_RATIO, max(1, width) / max(1, height)))
    area = min(MAX_PIXELS, max(MIN_PIXELS, max(1, width) * max(1, height)))
    w = math.sqrt(area * ratio)
    h = w / ratio
    scale = min(1.0, MAX_EDGE / max(w, h))
    fw = min(MAX_EDGE, max(SIZE_STEP, round(w * scale / SIZE_STEP) * SIZE_STEP))
    fh = min(MAX_EDGE, max(SIZE_STEP, round(h * scale / SIZE_STEP) * SIZE_STEP))
    for _ in range(MAX_EDGE // SIZE_STEP):
        long_w = fw >= fh
        if max(fw, fh) > MAX_RATIO * min(fw, fh) or fw * fh > MAX_PIXELS:
            fw, fh = (fw - SIZE_STEP, fh) if long_w else (fw, fh - SIZE_STEP)
        elif fw * fh < MIN_PIXELS:
            fw, fh = (fw, fh + SIZE_STEP) if long_w else (fw + SIZE_STEP, fh)
        else:
            break
    return fw, fh


def _error_fields(response: httpx.Response) -> tuple[str, str]:
    """``(code, message)`` of an ``{"error": {...}}`` body; empty strings when absent."""
    try:
        body: Any = response.json()
    except ValueError:
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    code = error.get("code") or error.get("type") or ""
    message = error.get("message") or ""
    return str(code), str(message)
