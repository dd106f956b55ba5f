"""Fake image clouds on 127.0.0.1 that speak the real wire formats of the Pollinations gateway,
the OpenAI Images API and Gemini's generateContent.

Each fake is as strict as the real API (``tests/cloud_contracts.py``): it refuses a missing or
wrong key, an unknown or retired model, an API version or path that no longer exists and any
request field the provider does not document, with that provider's own error body. Each fake
records every request it received (``requests``) and answers according to ``mode``,
which a test sets before calling the adapter. Images are drawn with Pillow at the size the real
service would return. A ``"slow"`` answer waits until the server is torn down (or ``STALL``
seconds), so timeout tests never keep the server's shutdown waiting.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import io
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import unquote

from aiohttp import web
from aiohttp.web_request import FileField
from PIL import Image, ImageDraw

from tests import cloud_contracts as contracts
from tests.http_servers import serve_app

STALL = 10.0


@functools.cache
def make_image(width: int, height: int, fmt: str = "PNG") -> bytes:
    """A small scene (sky, ground, a disc) encoded as ``fmt``; cached, the fakes repeat sizes."""
    image = Image.new("RGB", (width, height), (90, 150, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(70, 120, 60))
    draw.ellipse((width // 3, height // 4, width // 2, height // 2), fill=(230, 60, 40))
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


@dataclass
class Received:
    """One request as the fake saw it."""

    method: str
    path: str  # decoded
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # filename, type, data


@contextlib.contextmanager
def refused_url() -> Iterator[str]:
    """A base URL on 127.0.0.1 whose port refuses connections (bound, never listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


class FakeServer:
    """Common plumbing: the mode, the request log, serving and stalling."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[Received] = []
        self.url = ""
        self._released = asyncio.Event()

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Serve the fake on an ephemeral port; yields its base URL."""
        app = web.Application()
        self.routes(app)
        async with serve_app(app) as url:
            self.url = url
            try:
                yield url
            finally:
                self._released.set()

    @property
    def last(self) -> Received:
        """The most recent request."""
        assert self.requests, "the fake received no request"
        return self.requests[-1]

    async def record(self, request: web.Request) -> Received:
        """Log the request with its JSON or multipart body."""
        seen = Received(
            method=request.method,
            path=unquote(request.raw_path.split("?", 1)[0]),
            query=dict(request.query),
            headers={name.lower(): value for name, value in request.headers.items()},
        )
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            seen.json = await request.json()
        elif content_type.startswith("multipart/form-data"):
            for name, value in (await request.post()).items():
                if isinstance(value, FileField):
                    seen.files[name] = (value.filename, value.content_type, value.file.read())
                else:
                    seen.form[name] = str(value)
        self.requests.append(seen)
        return seen

    async def stall(self) -> None:
        """Answer late: wait for teardown, at most ``STALL`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._released.wait(), STALL)


class FakePollinations(FakeServer):
    """``GET /image/{prompt}?model&width&height&seed`` with a key → JPEG bytes.

    Like Cloudflare in front of the real service, the server refuses request lines above ~8 KB
    (aiohttp's own limit, 8190 bytes, answers 400). The retired ``/prompt/{prompt}`` path of the
    old host answers 404, as the gateway has no such route.
    """

    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.retry_after = "7"
        self.draws = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/image/{prompt:.+}", self.handle)
        app.router.add_route("*", "/{path:.*}", self.not_found)

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        """The gateway's JSON 404 for a path it has not (the old ``/prompt/`` among them)."""
        await self.record(request)
        return _json(*contracts.pollinations_error(404))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        seen = await self.record(request)
        refusal = contracts.pollinations_refusal(
            self.api_key, seen.headers.get("authorization", ""), seen.query
        )
        if refusal is not None:
            return _json(*refusal)
        if self.mode == "slow":
            await self.stall()
        if self.mode == "rate_limited":
            status, body = contracts.pollinations_error(429, "Queue full for this IP")
            return web.json_response(body, status=status, headers={"Retry-After": self.retry_after})
        if self.mode == "unavailable":
            return _html(502, "<h1>502 Bad Gateway</h1><p>cloudflare</p>")
        if self.mode == "payment_required":
            return _json(*contracts.pollinations_error(402))
        if self.mode == "bad_request":
            return _json(
                *contracts.pollinations_error(
                    400, "width must be at most 2048", {"width": ["Too big"]}
                )
            )
        if self.mode == "html":
            return _html(200, "<!doctype html><title>Pollinations</title><p>Loading…</p>")
        if self.mode == "corrupt":
            data = make_image(64, 64, "JPEG")
            return web.Response(body=data[: len(data) // 2], content_type="image/jpeg")
        width = int(request.query.get("width", "1024"))
        height = int(request.query.get("height", "1024"))
        if self.mode == "unseeded":  # a model that ignores the seed: another picture every time
            self.draws += 1
            return web.Response(
                body=make_image(width + self.draws, height, "JPEG"), content_type="image/jpeg"
            )
        return web.Response(body=make_image(width, height, "JPEG"), content_type="image/jpeg")


class FakeOpenAI(FakeServer):
    """``POST /v1/images/generations`` (JSON) and ``/v1/images/edits`` (multipart)."""

    FORMATS: ClassVar[dict[str, str]] = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}

    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.rate_limit_headers = {"Retry-After": "12"}

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/images/generations", self.generations)
        app.router.add_post("/v1/images/edits", self.edits)
        app.router.add_route("*", "/{path:.*}", self.not_found)

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        """OpenAI's JSON 404 for an endpoint it does not have."""
        seen = await self.record(request)
        return _json(*contracts.openai_unknown_url(request.method, seen.path))

    async def generations(self, request: web.Request) -> web.StreamResponse:
        seen = await self.record(request)
        body = seen.json if isinstance(seen.json, dict) else {}
        refusal = contracts.openai_refusal(
            self.api_key,
            seen.headers.get("authorization", ""),
            body,
            contracts.OPENAI_GENERATION_FIELDS,
        )
        if refusal is not None:
            return _json(*refusal)
        fmt = str(body.get("output_format", "png"))
        return await self.answer(str(body.get("size", "auto")), fmt)

    async def edits(self, request: web.Request) -> web.StreamResponse:
        seen = await self.record(request)
        fields = dict(seen.form)
        refusal = contracts.openai_refusal(
            self.api_key,
            seen.headers.get("authorization", ""),
            fields,
            contracts.OPENAI_EDIT_FIELDS,
        )
        if refusal is not None:
            return _json(*refusal)
        if "image" not in seen.files and "image[]" not in seen.files:
            return _json(
                *contracts.openai_error(
                    400, "Missing required parameter: 'image'.", "missing_required_parameter"
                )
            )
        fmt = seen.form.get("output_format", "png")
        return await self.answer(seen.form.get("size", "auto"), fmt)

    async def answer(self, size: str, fmt: str) -> web.StreamResponse:
        if self.mode == "slow":
            await self.stall()
        if self.mode == "rate_limited":
            status, body = contracts.openai_error(
                429,
                "Rate limit reached for gpt-image-2.6-flare on images per minute (IPM): Limit 5.",
                "rate_limit_exceeded",
            )
            return web.json_response(body, status=status, headers=self.rate_limit_headers)
        if self.mode == "quota":
            return _json(
                *contracts.openai_error(
                    429, "You exceeded your current quota.", "insufficient_quota"
                )
            )
        if self.mode == "unavailable":
            return _json(
                *contracts.openai_error(
                    500, "The server had an error processing your request.", None
                )
            )
        if self.mode == "moderation_blocked":
            return _json(
                *contracts.openai_error(
                    400, "Your request was rejected as a result of our safety system.", self.mode
                )
            )
        if self.mode == "html":
            return _html(200, "<html><body>upstream error</body></html>")
        width, height = (1024, 1024) if size == "auto" else map(int, size.split("x"))
        item: dict[str, Any] = {"b64_json": _b64(make_image(width, height, self.FORMATS[fmt]))}
        if self.mode == "no_b64":
            item = {"url": "https://example.invalid/image.png"}
        elif self.mode == "bad_b64":
            item = {"b64_json": "this is *not* base64!"}
        elif self.mode == "not_image":
            item = {"b64_json": base64.b64encode(b"GIF89a, or so it claims").decode()}
        return web.json_response(
            {
                "created": int(time.time()),
                "data": [item],
                "size": f"{width}x{height}",
                "output_format": fmt,
                "usage": {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210},
            }
        )


class FakeGemini(FakeServer):
    """``POST /{version}/models/{model}:generateContent`` with ``x-goog-api-key``."""

    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.inline_images: list[tuple[str, bytes]] = []  # (mime type, bytes) received

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/{version}/models/{call}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        seen = await self.record(request)
        for content in (seen.json or {}).get("contents", []):
            for part in content.get("parts", []):
                # Proto JSON: either spelling of the field, standard or URL-safe base64.
                inline = part.get("inlineData") or part.get("inline_data")
                if inline:
                    mime_type = inline.get("mimeType") or inline.get("mime_type")
                    self.inline_images.append((mime_type, _proto_bytes(inline["data"])))
        call = request.match_info["call"]
        refusal = contracts.gemini_refusal(
            request.match_info["version"], call, self.api_key, seen.headers, seen.json
        )
        if refusal is not None:
            return _json(*refusal)
        model = call.partition(":")[0]
        if self.mode == "slow":
            await self.stall()
        if self.mode == "rate_limited":
            details: list[dict[str, Any]] = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{"quotaMetric": "generate_content_free_tier_requests"}],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"},
            ]
            return _json(
                *contracts.google_error(
                    429, "You exceeded your current quota.", "RESOURCE_EXHAUSTED", details
                )
            )
        if self.mode == "unavailable":
            return _json(*contracts.google_error(503, "The model is overloaded.", "UNAVAILABLE"))
        if self.mode == "invalid_argument":
            return _json(
                *contracts.google_error(
                    400, "Request contains an invalid argument.", "INVALID_ARGUMENT"
                )
            )
        if self.mode == "html":
            return _html(200, "<html><body>captive portal</body></html>")
        config = (seen.json or {}).get("generationConfig", {})
        if "IMAGE" not in config.get("responseModalities", []):
            return web.json_response({**self.text_answer(config), "modelVersion": model})
        image_config = config.get("imageConfig", {})
        size = contracts.gemini_image_size(
            image_config.get("aspectRatio", "1:1"), image_config.get("imageSize", "1K")
        )
        return web.json_response({**self.answer(*size), "modelVersion": model})

    def text_answer(self, config: dict[str, Any]) -> dict[str, Any]:
        """A text answer: JSON matching ``responseSchema`` when JSON is asked for."""
        text = "OK"
        if config.get("responseMimeType") == "application/json":
            text = json.dumps(schema_instance(config.get("responseSchema") or {}))
        if self.mode == "text_only_not_json":
            text = "Sure! Here is what you asked for."
        part = {"text": text}
        return {
            "candidates": [
                {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}
            ]
        }

    def answer(self, width: int, height: int) -> dict[str, Any]:
        """The generateContent body for the current mode."""
        image = {"inlineData": {"mimeType": "image/png", "data": _b64(make_image(width, height))}}
        parts: list[dict[str, Any]] = [{"text": "Here is the car you asked for."}, image]
        if self.mode == "prompt_blocked":
            return {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}
        if self.mode == "image_safety":
            return {"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}]}
        if self.mode == "text_only":
            parts = [{"text": "I can describe the car, but here is no picture."}]
        elif self.mode == "thought":
            draft = {"inlineData": {"mimeType": "image/png", "data": _b64(make_image(64, 64))}}
            parts = [{**draft, "thought": True}, image]
        elif self.mode == "bad_base64":
            parts = [{"inlineData": {"mimeType": "image/png", "data": "!!not-base64!!"}}]
        elif self.mode == "not_image":
            parts = [{"inlineData": {"mimeType": "image/png", "data": _b64(b"\x89PNG broken")}}]
        return {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1290},
        }


def schema_instance(schema: dict[str, Any]) -> Any:
    """The smallest value of a Gemini ``Schema`` (OBJECT with its required properties)."""
    kind = str(schema.get("type", "OBJECT")).upper()
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "OBJECT":
        properties = schema.get("properties") or {}
        return {name: schema_instance(properties[name]) for name in schema.get("required", [])}
    return {"ARRAY": [], "STRING": "", "INTEGER": 0, "NUMBER": 0.0, "BOOLEAN": False}.get(kind)


def _proto_bytes(text: str) -> bytes:
    """Decode a proto3 JSON ``bytes`` field: standard or URL-safe base64, padded or not."""
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _html(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/html")


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status)
