"""``photofun providers check``: is each configured cloud model reachable and working today?

For every provider whose key is in the environment or that ``IMAGE_SVC_PROVIDERS`` names (the
same names the services read), the smallest request *of the shape the services send* goes
straight to the provider — not through our services, so the answer says what the provider does
now, whatever our code does:

- Gemini: one ``generateContent`` on ``v1beta`` with the text model (``GEMINI_MODEL``) carrying
  what prompt_svc sends (``systemInstruction``, ``responseMimeType`` and a ``responseSchema``
  using the same schema keywords), and one with the image model (``GEMINI_IMAGE_MODEL``) whose
  ``generationConfig`` is image_svc's for a 1024×1024 job (seed, ``["IMAGE", "TEXT"]``, 1:1
  at the 1K tier), sent twice to see whether the seed gives the same picture again;
- OpenAI: the adapter's own 1024×1024 generation (``OPENAI_IMAGE_MODEL``); the API has no seed;
- Pollinations: one 256×256 image on the gateway (``POLLINATIONS_MODEL``) with a seed, twice.

The CLI may not import the services (``make lint``'s layers), so the bodies are written here;
tests/photofun_cli/test_providers_check.py sends the services' own requests to the same strict
fakes and keeps the two equal, so a field a service starts sending is probed here too.

Each row says whether the provider answered at all, whether it knows the model, how long the
first answer took and whether the seed reproduced the image. A provider counts as failed when
it cannot be reached, refuses the key or the model, or answers without an image (or JSON text);
when ``IMAGE_SVC_PROVIDERS`` names it without its key; or when the model is missing from the
table of the service that uses it (``KNOWN_MODELS``: that service would not start). ``check``
returns such rows and the command exits non-zero. It costs a few real images: ``--no-seed``
skips the repeated requests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
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
# The image probes' job: image_svc's adapters send a 1024x1024 job as 1:1 at the 1K tier
# (Gemini) and as size 1024x1024 (OpenAI).
IMAGE_EDGE = 1024
POLLINATIONS_EDGE = 256
TEXT_INSTRUCTION = "You check that a service answers. Answer with JSON only, as the schema says."
TEXT_PROMPT = '{"prompt": "Answer with the word ok."}'
# A small schema using every schema keyword prompt_svc's response schema uses (type, title,
# description, properties, property_ordering, required, enum, items, default), so the probe
# fails where the refiner's request would.
TEXT_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "title": "Check",
    "description": "The answer of a health check.",
    "properties": {
        "answer": {"type": "STRING", "enum": ["ok"], "description": "Always ok."},
        "words": {
            "type": "ARRAY",
            "items": {"type": "STRING"},
            "title": "Words",
            "description": "Empty.",
        },
        "count": {"type": "INTEGER", "default": 0, "title": "Count", "description": "0."},
    },
    "property_ordering": ["answer", "words", "count"],
    "required": ["answer", "words"],
}

# The models each service accepts: prompt_svc/gemini.py TEXT_MODELS and the MODELS tables of
# image_svc/providers/*.py. A service refuses to start with any other name; the CLI cannot
# import them (make lint's layers), and a test keeps these copies equal to those tables.
KNOWN_MODELS: dict[str, frozenset[str]] = {
    "gemini text": frozenset(
        {
            "gemini-3.8-flash",
            "gemini-3.7-flash",
            "gemini-3.6-flash",
            "gemini-3.5-flash",
            "gemini-3.5-flash-lite",
            "gemini-3.1-flash-lite",
            "gemini-3.1-pro-preview",
        }
    ),
    "gemini": frozenset({"gemini-3.1-flash-image", "gemini-3-pro-image"}),
    "openai": frozenset(
        {
            "gpt-image-2.6-flare",
            "gpt-image-2.6-sunburst",
            "gpt-image-2.5-flare",
            "gpt-image-2.5-sunburst",
            "gpt-image-2",
        }
    ),
    "pollinations": frozenset(
        {"flux", "zimage", "seedream", "klein", "turbo", "gptimage", "nanobanana"}
    ),
}
IMAGE_PROVIDERS = ("gemini", "openai", "pollinations")
KEY_NAMES = {
    "gemini": "GEMINI_API_KEY",
    "openai": "OPENAI_API_KEY",
    "pollinations": "POLLINATIONS_API_KEY",
}


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
    image_svc_providers: str = Field("", validation_alias=shared("IMAGE_SVC_PROVIDERS"))

    def named_image_providers(self) -> list[str]:
        """The providers ``IMAGE_SVC_PROVIDERS`` names, as image_svc reads it."""
        names = (n.strip().lower() for n in self.image_svc_providers.split(","))
        return list(dict.fromkeys(n for n in names if n))


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
    """Probe every configured provider (keyed, or named by image_svc), in a fixed order."""
    probes: list[Probe] = []
    named = settings.named_image_providers()
    probes.extend(_unknown(name) for name in named if name not in IMAGE_PROVIDERS)
    async with httpx.AsyncClient(timeout=timeout) as http:
        model = settings.gemini_image_model
        if key := _secret(settings.gemini_api_key):
            base = (settings.gemini_base_url or defaults.GEMINI_BASE_URL).rstrip("/")
            gemini = _Gemini(http, base, key)
            text = settings.gemini_model
            probe = await _probe("gemini", text, key, gemini.text(text))
            probes.append(_in_table(probe, "gemini text", "prompt_svc"))
            probe = await _probe("gemini", model, key, gemini.image(model), seeded=seed)
            probes.append(_in_table(probe, "gemini", "image_svc"))
        elif "gemini" in named:
            probes.append(_keyless("gemini", model))
        model = settings.openai_image_model
        if key := _secret(settings.openai_api_key):
            base = (settings.openai_base_url or defaults.OPENAI_BASE_URL).rstrip("/")
            fetch = _openai(http, base, key, model)
            probe = await _probe("openai", model, key, fetch, seedless=True)
            probes.append(_in_table(probe, "openai", "image_svc"))
        elif "openai" in named:
            probes.append(_keyless("openai", model))
        model = settings.pollinations_model
        if key := _secret(settings.pollinations_api_key):
            base = (settings.pollinations_base_url or defaults.POLLINATIONS_BASE_URL).rstrip("/")
            fetch = _pollinations(http, base, key, model)
            probe = await _probe("pollinations", model, key, fetch, seeded=seed)
            probes.append(_in_table(probe, "pollinations", "image_svc"))
        elif "pollinations" in named:
            probes.append(_keyless("pollinations", model))
    return probes


def _in_table(probe: Probe, table: str, service: str) -> Probe:
    """``probe``, failed when its model is missing from the table of the service using it."""
    if probe.model in KNOWN_MODELS[table]:
        return probe
    note = f"not in {service}'s table of {table} models: {service} will not start with it"
    return replace(probe, detail=note + (f"; {probe.detail}" if probe.detail else ""))


def _keyless(provider: str, model: str) -> Probe:
    """A provider ``IMAGE_SVC_PROVIDERS`` names without its key: a failed row, not probed."""
    effect = (
        "image_svc leaves it out (off)"
        if provider == "pollinations"
        else "image_svc will not start"
    )
    detail = f"named in IMAGE_SVC_PROVIDERS but {KEY_NAMES[provider]} is not set: {effect}"
    return Probe(provider, model, False, None, None, "—", detail)


def _unknown(name: str) -> Probe:
    detail = "IMAGE_SVC_PROVIDERS names an unknown provider: image_svc will not start"
    return Probe(name, "—", False, None, None, "—", detail)


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
        body = {
            "contents": [{"parts": [{"text": TEXT_PROMPT}], "role": "user"}],
            "systemInstruction": {"parts": [{"text": TEXT_INSTRUCTION}], "role": "user"},
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseSchema": TEXT_SCHEMA,
            },
        }

        async def fetch() -> str:
            answer = await self._post(model, body)
            text = "".join(str(part.get("text", "")) for part in _gemini_parts(answer))
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise Refused("the answer is not the JSON object asked for", model_valid=True)
            return text

        return fetch

    def image(self, model: str) -> Fetch:
        body = {
            "contents": [{"parts": [{"text": PROMPT}], "role": "user"}],
            "generationConfig": {
                "seed": SEED,
                "responseModalities": ["IMAGE", "TEXT"],
                "imageConfig": {"aspectRatio": "1:1", "imageSize": "1K"},
            },
        }

        async def fetch() -> bytes:
            answer = await self._post(model, body)
            images = [
                str(part["inlineData"]["data"])
                for part in _gemini_parts(answer)
                if (part.get("inlineData") or {}).get("data") and not part.get("thought")
            ]
            if not images:
                raise Refused("answer without an image", model_valid=True)
            return _pixels(_b64(images[-1]))  # as image_svc: the last image is the answer

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
    body = {"model": model, "prompt": PROMPT, "size": f"{IMAGE_EDGE}x{IMAGE_EDGE}", "n": 1}

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
    params: dict[str, str | int] = {
        "model": model,
        "width": POLLINATIONS_EDGE,
        "height": POLLINATIONS_EDGE,
        "seed": SEED,
    }

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
