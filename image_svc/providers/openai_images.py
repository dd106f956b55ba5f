"""OpenAI Images API: text-to-image, and image edits for the consistency (reference) mode.

Wire format (``api.openai.com``)::

    POST {base}/v1/images/generations      Authorization: Bearer KEY, JSON
        {"model": "gpt-image-1", "prompt": "...", "size": "1536x1024", "n": 1}
        (+ "output_format": "jpeg" | "webp" when the job prefers those to PNG)
    POST {base}/v1/images/edits            Authorization: Bearer KEY, multipart/form-data
        image=<reference file>, prompt, model, size, n=1, input_fidelity=high (, output_format)
    → 200 {"created": 1700000000, "data": [{"b64_json": "..."}], ...}
    → 4xx/5xx {"error": {"message": "...", "type": "...", "param": ..., "code": "..."}}

The GPT image models always answer base64 and reject ``response_format`` ("Unknown parameter"),
so it is sent only to the DALL-E models. Only a few sizes exist per model: the nearest one to the
job's aspect ratio is asked for and the real size is read from the decoded bytes.

There is **no seed parameter**: the same job can give different images. Consistency across the
angles of one subject comes from the prompt's consistency hints and, in reference mode, from the
main view passed to the edits endpoint (``input_fidelity=high`` keeps its details).

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
from typing import Any

import httpx

from image_svc.providers.base import (
    ImageJob,
    ProviderImage,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from image_svc.providers.wire import decode_image, mapped_http_errors, sniff_mime
from mesh.retry import retry_after_headers

DEFAULT_BASE_URL = "https://api.openai.com"
GENERATIONS_PATH = "/v1/images/generations"
EDITS_PATH = "/v1/images/edits"

Size = tuple[int, int]
GPT_IMAGE_SIZES: tuple[Size, ...] = ((1024, 1024), (1536, 1024), (1024, 1536))
DALL_E_SIZES: dict[str, tuple[Size, ...]] = {
    "dall-e-2": ((256, 256), (512, 512), (1024, 1024)),
    "dall-e-3": ((1024, 1024), (1792, 1024), (1024, 1792)),
}
# "content_policy_violation" is DALL-E's code, "moderation_blocked" the GPT image models'.
CONTENT_POLICY_CODES = frozenset({"content_policy_violation", "moderation_blocked"})
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
        model: str = "gpt-image-1",
        input_fidelity: str | None = "high",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("the OpenAI Images API needs an API key")
        self.base_url = base_url.rstrip("/")
        self.model = model
        # DALL-E 2 edits take only a square PNG and repaint its transparent areas; DALL-E 3 has
        # no edits: reference mode is for the GPT image models.
        self.supports_reference = not model.startswith("dall-e")
        self.sizes = DALL_E_SIZES.get(model, GPT_IMAGE_SIZES)
        # gpt-image-1-mini rejects input_fidelity; the larger GPT image models take it.
        self._input_fidelity = None if "mini" in model else input_fidelity
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
        width, height = nearest_size(job.width, job.height, self.sizes)
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
        if self.model.startswith("dall-e"):
            body["response_format"] = "b64_json"
        if output_format := self._output_format(job):
            body["output_format"] = output_format
        return await self._http.post(self.base_url + GENERATIONS_PATH, json=body, timeout=timeout)

    async def _edit(
        self, job: ImageJob, reference: bytes, size: str, timeout: float
    ) -> httpx.Response:
        mime_type = job.reference_mime or sniff_mime(reference)
        file_name = _FILE_NAMES.get(mime_type, "reference.png")
        fields = {"model": self.model, "prompt": job.prompt, "size": size, "n": "1"}
        if self._input_fidelity:
            fields["input_fidelity"] = self._input_fidelity
        if output_format := self._output_format(job):
            fields["output_format"] = output_format
        return await self._http.post(
            self.base_url + EDITS_PATH,
            data=fields,
            files={"image": (file_name, reference, mime_type)},
            timeout=timeout,
        )

    def _output_format(self, job: ImageJob) -> str | None:
        """JPEG or WebP straight from the GPT image models, saving a conversion; PNG is default."""
        fmt = {"jpg": "jpeg"}.get(job.fmt.lower(), job.fmt.lower())
        if self.model.startswith("dall-e") or fmt not in ("jpeg", "webp"):
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


def nearest_size(width: int, height: int, sizes: tuple[Size, ...]) -> Size:
    """The supported size closest in aspect ratio to ``width``×``height``, then in area."""
    width, height = max(1, width), max(1, height)
    aspect, area = math.log(width / height), math.log(width * height)

    def distance(size: Size) -> tuple[float, float]:
        w, h = size
        return round(abs(math.log(w / h) - aspect), 9), abs(math.log(w * h) - area)

    return min(sizes, key=distance)


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
