"""``photofun providers check``: is each configured cloud model reachable and working today?

For every provider whose key is in the environment (the same names the services read), the
smallest real request is sent straight to the provider — not through our services, so the
answer says what the provider does now, whatever our code does:

- Gemini: one ``generateContent`` on ``v1beta`` with the text model (``GEMINI_MODEL``), one with
  the image model (``GEMINI_IMAGE_MODEL``, a 1:1 image at the smallest common size tier) and a
  seed, sent twice to see whether the seed gives the same picture again;
- OpenAI: one low-quality 1024×1024 image (``OPENAI_IMAGE_MODEL``); the API has no seed;
- Pollinations: one 256×256 image on the gateway (``POLLINATIONS_MODEL``) with a seed, twice.

Each row says whether the provider answered at all, whether it knows the model, how long the
first answer took and whether the seed reproduced the image. A provider counts as failed when
it cannot be reached, refuses the key or the model, or answers without an image (or text);
``check`` returns False then and the command exits non-zero. It costs a few real images:
``--no-seed`` skips the repeated requests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

import httpx
from PIL import Image
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.table import Table

from mesh import providers as defaults
from mesh.settings import shared

PROMPT = "a small red circle on a white background"
SEED = 424242


class ProviderSettings(BaseSettings):
    """The keys, endpoints and models the services use, read from the same names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    gemini_api_key: SecretStr | None = Field(None, validation_alias=shared("GEMINI_API_KEY"))
    gemini_base_url: str | None = Field(None, validation_alias=shared("GEMINI_BASE_URL"))
    gemini_model: str = Field(defaults.GEMINI_TEXT_MODEL, validation_alias=shared("GEMINI_MODEL"))
    gemini_image_model: str = Field(
        defaults.GEMINI_IMAGE_MODEL, validation_alias=shared("GEMINI_IMAGE_MODEL")
    )
    openai_api_key: SecretStr | None = Field(None, validation_alias=shared("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=shared("OPENAI_BASE_URL"))
    openai_image_model: str = Field(
        defaults.OPENAI_IMAGE_MODEL, validation_alias=shared("OPENAI_IMAGE_MODEL")
    )
    pollinations_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("POLLINATIONS_API_KEY", "POLLINATIONS_TOKEN")
    )
    pollinations_base_url: str | None = Field(
        None, validation_alias=shared("POLLINATIONS_BASE_URL")
    )
    pollinations_model: str = Field(
        defaults.POLLINATIONS_IMAGE_MODEL, validation_alias=shared("POLLINATIONS_MODEL")
    )


@dataclass(frozen=True)
class Probe:
    """One row of the check: what one provider and model did with the smallest request."""

    provider: str
    model: str
    reachable: bool
    model_valid: bool | None  # None: the provider did not get as far as judging the model
    latency_ms: float | None
    seed: str  # "same image", "different image", "no seed", "not checked", "n/a"
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Reached, model known, and a usable answer."""
        return self.reachable and self.model_valid is True and not self.detail


class Refused(Exception):
    """The provider answered, but not with what was asked for."""

    def __init__(self, detail: str, *, model_valid: bool | None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.model_valid = model_valid


Fetch = Callable[[], Awaitable[bytes | str]]


async def check(
    settings: ProviderSettings, *, seed: bool = True, timeout: float = 120.0
) -> list[Probe]:
    """Probe every configured provider (one whose key is set), in a fixed order."""
    probes: list[Probe] = []
    async with httpx.AsyncClient(timeout=timeout) as http:
        if key := _secret(settings.gemini_api_key):
            base = (settings.gemini_base_url or defaults.GEMINI_BASE_URL).rstrip("/")
            gemini = _Gemini(http, base, key)
            probes.append(
                await _probe(
                    "gemini", settings.gemini_model, key, gemini.text(settings.gemini_model)
                )
            )
            model = settings.gemini_image_model
            probes.append(await _probe("gemini", model, key, gemini.image(model), seeded=seed))
        if key := _secret(settings.openai_api_key):
            base = (settings.openai_base_url or defaults.OPENAI_BASE_URL).rstrip("/")
            model = settings.openai_image_model
            probes.append(
                await _probe("openai", model, key, _openai(http, base, key, model), seedless=True)
            )
        if key := _secret(settings.pollinations_api_key):
            base = (settings.pollinations_base_url or defaults.POLLINATIONS_BASE_URL).rstrip("/")
            model = settings.pollinations_model
            fetch = _pollinations(http, base, key, model)
            probes.append(await _probe("pollinations", model, key, fetch, seeded=seed))
    return probes


def table(probes: list[Probe]) -> Table:
    """The probes as a table for people."""
    out = Table(title="Image and prompt providers", title_justify="left")
    for column in ("provider", "model", "reachable", "model valid", "latency", "seed", "detail"):
        out.add_column(column, overflow="fold")
    for p in probes:
        valid = {True: "yes", False: "NO", None: "?"}[p.model_valid]
        latency = f"{p.latency_ms:.0f} ms" if p.latency_ms is not None else "—"
        style = "green" if p.ok else "red"
        out.add_row(
            p.provider,
            p.model,
            "yes" if p.reachable else "NO",
            valid,
            latency,
            p.seed,
            p.detail or "ok",
            style=style,
        )
    return out


def as_json(probes: list[Probe]) -> list[dict[str, Any]]:
    """The probes as plain data (``--json``)."""
    return [{**asdict(p), "ok": p.ok} for p in probes]


async def _probe(
    provider: str,
    model: str,
    key: str,
    fetch: Fetch,
    *,
    seeded: bool = False,
    seedless: bool = False,
) -> Probe:
    started = time.perf_counter()
    try:
        first = await fetch()
        latency = (time.perf_counter() - started) * 1000
        seed = "n/a" if isinstance(first, str) else "no seed" if seedless else "not checked"
        if seeded and isinstance(first, bytes):
            again = await fetch()
            seed = "same image" if again == first else "different image"
    except Refused as exc:
        latency = (time.perf_counter() - started) * 1000
        return Probe(provider, model, True, exc.model_valid, latency, "—", _scrub(exc.detail, key))
    except httpx.TimeoutException:
        return Probe(provider, model, False, None, None, "—", "no answer in time")
    except httpx.HTTPError as exc:
        detail = _scrub(f"unreachable: {type(exc).__name__} {exc}".strip(), key)
        return Probe(provider, model, False, None, None, "—", detail[:200])
    return Probe(provider, model, True, True, latency, seed)


class _Gemini:
    def __init__(self, http: httpx.AsyncClient, base: str, key: str) -> None:
        self._http, self._base, self._key = http, base, key

    def text(self, model: str) -> Fetch:
        body = {"contents": [{"role": "user", "parts": [{"text": "Answer with the word OK."}]}]}

        async def fetch() -> str:
            answer = await self._post(model, body)
            parts = _gemini_parts(answer)
            if not any("text" in part for part in parts):
                raise Refused("answer without text", model_valid=True)
            return "".join(str(part.get("text", "")) for part in parts)

        return fetch

    def image(self, model: str) -> Fetch:
        body = {
            "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
            "generationConfig": {
                "seed": SEED,
                "responseModalities": ["IMAGE"],
                "imageConfig": {"aspectRatio": "1:1", "imageSize": "1K"},
            },
        }

        async def fetch() -> bytes:
            answer = await self._post(model, body)
            for part in _gemini_parts(answer):
                inline = part.get("inlineData") or {}
                if inline.get("data") and not part.get("thought"):
                    return _pixels(_b64(str(inline["data"])))
            raise Refused("answer without an image", model_valid=True)

        return fetch

    async def _post(self, model: str, body: dict[str, Any]) -> Any:
        url = f"{self._base}/{defaults.GEMINI_API_VERSION}/models/{model}:generateContent"
        reply = await self._http.post(url, json=body, headers={"x-goog-api-key": self._key})
        if reply.status_code == 200:
            return _json(reply)
        error = _json(reply).get("error", {}) if _is_json(reply) else {}
        status = str(error.get("status", ""))
        message = str(error.get("message", reply.text[:200]))
        detail = f"HTTP {reply.status_code} {status}: {message}".strip()
        if reply.status_code == 404 and status == "NOT_FOUND":
            raise Refused(detail, model_valid=False)
        # A wrong key is a 400 INVALID_ARGUMENT whose ErrorInfo says API_KEY_INVALID.
        reasons = {str(d.get("reason")) for d in error.get("details") or [] if isinstance(d, dict)}
        key_refused = reply.status_code in (401, 403) or any("API_KEY" in r for r in reasons)
        raise Refused(detail, model_valid=None if key_refused else True)


def _openai(http: httpx.AsyncClient, base: str, key: str, model: str) -> Fetch:
    body = {"model": model, "prompt": PROMPT, "size": "1024x1024", "quality": "low", "n": 1}

    async def fetch() -> bytes:
        reply = await http.post(
            f"{base}/v1/images/generations",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
        )
        answer = _json(reply) if _is_json(reply) else {}
        if reply.status_code != 200:
            error = answer.get("error") or {}
            code = str(error.get("code") or error.get("type") or "")
            message = str(error.get("message") or reply.text[:200])
            detail = f"HTTP {reply.status_code} {code}: {message}"
            if reply.status_code in (401, 403):
                raise Refused(
                    f"HTTP {reply.status_code} {code}: the key was refused", model_valid=None
                )
            raise Refused(detail, model_valid=code != "model_not_found")
        data = answer.get("data") or [{}]
        encoded = data[0].get("b64_json") if isinstance(data[0], dict) else None
        if not encoded:
            raise Refused("answer without data[0].b64_json", model_valid=True)
        return _pixels(_b64(str(encoded)))

    return fetch


def _pollinations(http: httpx.AsyncClient, base: str, key: str, model: str) -> Fetch:
    params: dict[str, str | int] = {"model": model, "width": 256, "height": 256, "seed": SEED}

    async def fetch() -> bytes:
        reply = await http.get(
            f"{base}/image/{quote(PROMPT, safe='')}",
            params=params,
            headers={"Authorization": f"Bearer {key}"},
        )
        if reply.status_code == 200 and reply.headers.get("content-type", "").startswith("image/"):
            return _pixels(reply.content)
        error = (_json(reply).get("error") or {}) if _is_json(reply) else {}
        code, message = str(error.get("code", "")), str(error.get("message", ""))
        detail = f"HTTP {reply.status_code} {code}: {message}".strip(": ")
        fields = (error.get("details") or {}).get("fieldErrors") or {}
        if reply.status_code == 200:
            detail = f"answer is {reply.headers.get('content-type') or 'untyped'}, not an image"
        valid: bool | None = True
        if "model" in fields:
            valid = False
        elif reply.status_code in (401, 403):
            valid = None
        raise Refused(detail, model_valid=valid)

    return fetch


def _gemini_parts(answer: Any) -> list[dict[str, Any]]:
    candidates = answer.get("candidates") if isinstance(answer, dict) else None
    if not candidates:
        feedback = answer.get("promptFeedback", {}) if isinstance(answer, dict) else {}
        raise Refused(
            f"no candidates ({feedback.get('blockReason', 'no reason')})", model_valid=True
        )
    content = candidates[0].get("content") or {}
    return [part for part in content.get("parts") or [] if isinstance(part, dict)]


def _pixels(data: bytes) -> bytes:
    """A digest of the decoded pixels, so that two encodings of one picture compare equal."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return hashlib.sha256(image.convert("RGB").tobytes()).digest()
    except Exception as exc:  # Pillow raises many types on corrupt data; all mean "no image"
        raise Refused(f"the image does not decode ({len(data)} bytes)", model_valid=True) from exc


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("the image is not valid base64", model_valid=True) from None


def _is_json(reply: httpx.Response) -> bool:
    return str(reply.headers.get("content-type", "")).startswith("application/json")


def _json(reply: httpx.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        raise Refused(
            f"HTTP {reply.status_code}: the answer is not JSON", model_valid=None
        ) from None


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def _scrub(text: str, key: str) -> str:
    return text.replace(key, "***") if key else text
