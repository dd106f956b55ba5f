"""What each cloud accepts, written from its own documentation, for the fake servers to enforce.

The fakes in tests/image_svc/providers/fakes.py and tests/prompt_svc/fake_gemini.py refuse
what the real APIs refuse — unknown or retired models, an API version without the fields we
send, unknown request fields, missing or wrong keys — with each provider's own error body, so
a drift of ours (a model shut down, a field renamed, an endpoint moved) fails a test instead of
every production call. The lists here are deliberately *not* imported from the code under test:
they restate the documentation (docs/image-service.md and docs/prompt-service.md cite the pages
and the date they were checked), and when a provider changes, this file changes with it.
"""

from __future__ import annotations

import re
from typing import Any

# --- Retired on every provider ---------------------------------------------------------------

# Model names and endpoints the providers have shut down (their deprecation pages, as cited in
# docs/image-service.md and docs/prompt-service.md). No source, setting or example may name one:
# tests/image_svc/providers/test_current_models.py scans for them.
RETIRED = {
    "Gemini 1.x, 2.0 and 2.5 models": r"\bgemini-(?:1\.0|1\.5|2\.0|2\.5)-[a-z0-9.-]+",
    "GPT Image 1 models": r"\bgpt-image-1\b",  # also gpt-image-1.5 and gpt-image-1-mini
    "DALL·E models": r"\bdall-e-[23]\b",
    "chatgpt-image-latest": r"\bchatgpt-image-latest\b",
    "Pollinations' legacy image host": r"\bimage\.pollinations\.ai\b",
    "Pollinations' legacy /prompt/ path": r"[\"'/]prompt/[\"'{]",
}


def retired_names(text: str) -> list[str]:
    """Which ``RETIRED`` entries ``text`` names, in the table's order."""
    return [what for what, pattern in RETIRED.items() if re.search(pattern, text)]


# --- Gemini (generativelanguage.googleapis.com) -------------------------------------------------

# Models with generateContent and no shutdown date on the deprecations page when checked.
GEMINI_TEXT_MODELS = frozenset(
    {
        "gemini-3.8-flash",
        "gemini-3.7-flash",
        "gemini-3.6-flash",
        "gemini-3.5-flash",
        "gemini-3.5-flash-lite",
        "gemini-3.1-flash-lite",
        "gemini-3.1-pro-preview",
    }
)
# Image output (responseModalities IMAGE), with the aspect ratios and sizes each documents.
_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
GEMINI_IMAGE_MODELS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "gemini-3.1-flash-image": (
        frozenset({*_RATIOS, "1:4", "4:1", "1:8", "8:1"}),
        frozenset({"512", "1K", "2K", "4K"}),
    ),
    "gemini-3-pro-image": (frozenset(_RATIOS), frozenset({"1K", "2K", "4K"})),
}
GEMINI_API_VERSIONS = frozenset({"v1", "v1beta"})
# GenerateContentRequest fields per version, as the published request definitions (the API
# reference of each version) list them: v1's lacks the system instruction and the
# structured-output and image-output fields of generationConfig. This restates the definition,
# not the api-versions page's feature table, which may list more under v1; the stack sends
# everything on v1beta, so a stricter v1 here does no harm.
_REQUEST_V1 = frozenset({"contents", "generationConfig", "safetySettings", "cachedContent"})
_CONFIG_V1 = frozenset(
    {
        "stopSequences",
        "candidateCount",
        "maxOutputTokens",
        "temperature",
        "topP",
        "topK",
        "seed",
        "presencePenalty",
        "frequencyPenalty",
        "responseLogprobs",
        "logprobs",
    }
)
GEMINI_REQUEST_FIELDS = {
    "v1": _REQUEST_V1,
    "v1beta": _REQUEST_V1 | {"systemInstruction", "tools", "toolConfig"},
}
GEMINI_CONFIG_FIELDS = {
    "v1": _CONFIG_V1,
    "v1beta": _CONFIG_V1
    | {
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "responseModalities",
        "thinkingConfig",
        "imageConfig",
        "mediaResolution",
        "speechConfig",
    },
}
GEMINI_IMAGE_CONFIG_FIELDS = frozenset({"aspectRatio", "imageSize"})
# Content (contents[] and systemInstruction) and Part (contents[].parts[]) fields, and Blob
# (inlineData). The API reads a field by its JSON name or its proto name (``inline_data``).
GEMINI_CONTENT_FIELDS = frozenset({"role", "parts"})
GEMINI_PART_FIELDS = frozenset(
    {
        "text",
        "inlineData",
        "fileData",
        "functionCall",
        "functionResponse",
        "executableCode",
        "codeExecutionResult",
        "thought",
        "thoughtSignature",
        "videoMetadata",
    }
)
GEMINI_BLOB_FIELDS = frozenset({"mimeType", "data"})


def google_error(
    status: int, message: str, code: str, details: list[dict[str, Any]] | None = None
) -> tuple[int, dict[str, Any]]:
    """A google.rpc.Status error body, as the Gemini API sends it."""
    error: dict[str, Any] = {"code": status, "message": message, "status": code}
    if details:
        error["details"] = details
    return status, {"error": error}


def error_info(reason: str) -> dict[str, Any]:
    """A google.rpc.ErrorInfo detail entry."""
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    }


def _unknown_field(name: str, where: str = "") -> tuple[int, dict[str, Any]]:
    at = f" at '{where}'" if where else ""
    message = f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
    violation = {"field": where, "description": message} if where else {"description": message}
    detail = {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [violation],
    }
    return google_error(400, message, "INVALID_ARGUMENT", [detail])


def _json_name(name: str) -> str:
    """The lowerCamelCase JSON name of a proto field name (``inline_data`` → ``inlineData``)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _content_refusal(content: Any, where: str) -> tuple[int, dict[str, Any]] | None:
    """An unknown field of a Content, of one of its parts or of a part's inline data."""
    if not isinstance(content, dict):
        return google_error(400, f"Invalid value at '{where}'.", "INVALID_ARGUMENT")
    for name in content:
        if _json_name(name) not in GEMINI_CONTENT_FIELDS:
            return _unknown_field(name, where)
    for i, part in enumerate(content.get("parts") or []):
        at = f"{where}.parts[{i}]"
        if not isinstance(part, dict):
            return google_error(400, f"Invalid value at '{at}'.", "INVALID_ARGUMENT")
        for name in part:
            if _json_name(name) not in GEMINI_PART_FIELDS:
                return _unknown_field(name, at)
        inline = part.get("inlineData", part.get("inline_data")) or {}
        for name in inline if isinstance(inline, dict) else ():
            if _json_name(name) not in GEMINI_BLOB_FIELDS:
                return _unknown_field(name, f"{at}.inline_data")
    return None


def gemini_refusal(
    version: str, call: str, api_key: str, headers: dict[str, str], body: Any
) -> tuple[int, dict[str, Any]] | None:
    """The error the Gemini API answers ``POST /{version}/models/{call}`` with, or None.

    Checks, in the real API's order: the version and method exist, a key is present and right,
    every request field is known to that version, the model exists, and an image request goes
    to an image model with an aspect ratio and size it documents.
    """
    if version not in GEMINI_API_VERSIONS:
        return 404, {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}}
    model, _, method = call.partition(":")
    if method != "generateContent":
        return google_error(404, f"Method {method or call} not found.", "NOT_FOUND")
    presented = headers.get("x-goog-api-key")
    if not presented:
        return google_error(
            403,
            "Method doesn't allow unregistered callers (callers without established identity)."
            " Please use API Key or other form of API consumer identity to call this API.",
            "PERMISSION_DENIED",
        )
    if presented != api_key:
        return google_error(
            400,
            "API key not valid. Please pass a valid API key.",
            "INVALID_ARGUMENT",
            [error_info("API_KEY_INVALID")],
        )
    if not isinstance(body, dict):
        return google_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
    for name in body:
        if _json_name(name) not in GEMINI_REQUEST_FIELDS[version]:
            return _unknown_field(name)
    contents = body.get("contents") or []
    named = [
        (f"contents[{i}]", c) for i, c in enumerate(contents if isinstance(contents, list) else [])
    ]
    if "systemInstruction" in body:
        named.append(("system_instruction", body["systemInstruction"]))
    for where, content in named:
        if (refusal := _content_refusal(content, where)) is not None:
            return refusal
    config = body.get("generationConfig") or {}
    for name in config:
        if _json_name(name) not in GEMINI_CONFIG_FIELDS[version]:
            return _unknown_field(name, "generation_config")
    image_config = config.get("imageConfig") or {}
    for name in image_config:
        if _json_name(name) not in GEMINI_IMAGE_CONFIG_FIELDS:
            return _unknown_field(name, "generation_config.image_config")
    if model not in GEMINI_TEXT_MODELS and model not in GEMINI_IMAGE_MODELS:
        return google_error(
            404,
            f"models/{model} is not found for API version {version}, or is not supported for"
            " generateContent. Call ListModels to see the list of available models and their"
            " supported methods.",
            "NOT_FOUND",
        )
    modalities = config.get("responseModalities") or []
    if "IMAGE" in modalities:
        if model not in GEMINI_IMAGE_MODELS:
            return google_error(
                400,
                f"The requested combination of response modalities ({','.join(modalities)})"
                " is not supported by the model.",
                "INVALID_ARGUMENT",
            )
        ratios, sizes = GEMINI_IMAGE_MODELS[model]
        ratio = image_config.get("aspectRatio", "1:1")
        size = image_config.get("imageSize", "1K")
        if ratio not in ratios or size not in sizes:
            return google_error(
                400, f"Unsupported image config: {ratio} at {size}.", "INVALID_ARGUMENT"
            )
    return None


def gemini_image_size(ratio: str, tier: str) -> tuple[int, int]:
    """The pixel size an image model answers for an aspect ratio and size tier (about)."""
    w, h = (int(part) for part in ratio.split(":"))
    edge = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}[tier]
    area = edge * edge
    width = (area * w / h) ** 0.5
    return max(16, round(width / 16) * 16), max(16, round(width * h / w / 16) * 16)


# --- OpenAI Images API (api.openai.com) --------------------------------------------------------

# The GPT Image 2 family; every older image model is shut down (404 model_not_found).
OPENAI_IMAGE_MODELS = frozenset(
    {
        "gpt-image-2.6-flare",
        "gpt-image-2.6-sunburst",
        "gpt-image-2.5-flare",
        "gpt-image-2.5-sunburst",
        "gpt-image-2",
    }
)
OPENAI_GENERATION_FIELDS = frozenset(
    {
        "model",
        "prompt",
        "n",
        "size",
        "quality",
        "complexity",
        "output_format",
        "output_compression",
        "background",
        "moderation",
        "user",
        "stream",
        "partial_images",
    }
)
OPENAI_EDIT_FIELDS = frozenset(
    {
        "model",
        "prompt",
        "n",
        "size",
        "quality",
        "complexity",
        "output_format",
        "output_compression",
        "background",
        "mask",
        "user",
        "stream",
        "partial_images",
    }
)
OPENAI_FORMATS = frozenset({"png", "jpeg", "webp"})
# Values of the enumerated parameters (``xhigh`` and ``max`` quality, and ``complexity``, are
# documented for the 2.6 models).
OPENAI_CHOICES = {
    "quality": frozenset({"low", "medium", "high", "xhigh", "max", "auto"}),
    "complexity": frozenset({"low", "medium", "high"}),
    "background": frozenset({"transparent", "opaque", "auto"}),
    "moderation": frozenset({"low", "auto"}),
}
_SIZE = re.compile(r"(\d+)x(\d+)")


def openai_error(
    status: int, message: str, code: str | None, *, param: str | None = None
) -> tuple[int, dict[str, Any]]:
    """An OpenAI error body."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return status, {"error": {"message": message, "type": kind, "param": param, "code": code}}


def openai_unknown_url(method: str, path: str) -> tuple[int, dict[str, Any]]:
    """OpenAI's answer to a path it does not have (a retired or misspelt endpoint)."""
    return openai_error(404, f"Invalid URL ({method} {path})", None)


def openai_size_refusal(size: str) -> str | None:
    """Why a GPT Image 2 model refuses ``size``, or None: multiples of 16, at most 3840 a side,
    at most 3:1, 655,360 to 8,294,400 pixels; or "auto"."""
    if size == "auto":
        return None
    match = _SIZE.fullmatch(size)
    if match is None:
        return f"Invalid size '{size}'."
    w, h = int(match[1]), int(match[2])
    if w % 16 or h % 16:
        return f"Invalid size '{size}': both edges must be multiples of 16."
    if max(w, h) > 3840:
        return f"Invalid size '{size}': the longest edge is at most 3840."
    if max(w, h) > 3 * min(w, h):
        return f"Invalid size '{size}': the aspect ratio is at most 3:1."
    if not 655_360 <= w * h <= 8_294_400:
        return f"Invalid size '{size}': between 655360 and 8294400 pixels."
    return None


def openai_refusal(
    api_key: str, authorization: str, fields: dict[str, Any], allowed: frozenset[str]
) -> tuple[int, dict[str, Any]] | None:
    """The error the Images API answers a request with, or None (key, fields, model, size)."""
    if not authorization:
        return openai_error(
            401,
            "You didn't provide an API key. You need to provide your API key in an"
            " Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            None,
        )
    presented = authorization.removeprefix("Bearer ")
    if presented != api_key:
        # The real message masks the middle of the key; echoing all of it tests our redaction.
        message = f"Incorrect API key provided: {presented}. Find your API key at ..."
        return openai_error(401, message, "invalid_api_key")
    for name in fields:
        if name not in allowed:
            return openai_error(
                400, f"Unknown parameter: '{name}'.", "unknown_parameter", param=name
            )
    model = str(fields.get("model", ""))
    if model not in OPENAI_IMAGE_MODELS:
        return openai_error(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            "model_not_found",
            param="model",
        )
    if (why := openai_size_refusal(str(fields.get("size", "auto")))) is not None:
        return openai_error(400, why, "invalid_value", param="size")
    for name, choices in OPENAI_CHOICES.items():
        if name in fields and str(fields[name]) not in choices:
            return openai_error(
                400,
                f"Invalid value: '{fields[name]}'. Supported values are: "
                + ", ".join(f"'{c}'" for c in sorted(choices))
                + ".",
                "invalid_value",
                param=name,
            )
    fmt = str(fields.get("output_format", "png"))
    if fmt not in OPENAI_FORMATS:
        return openai_error(400, f"Invalid value: '{fmt}'.", "invalid_value", param="output_format")
    return None


# --- Pollinations gateway (gen.pollinations.ai) ------------------------------------------------

POLLINATIONS_IMAGE_MODELS = frozenset(
    {"flux", "zimage", "turbo", "gptimage", "kontext", "seedream", "klein", "nanobanana"}
)
# The documented query parameters of GET /image/{prompt}. The gateway itself may ignore others;
# the fake refuses them, so a parameter that fell out of the documentation fails a test.
POLLINATIONS_IMAGE_QUERY = frozenset(
    {
        "model",
        "width",
        "height",
        "seed",
        "enhance",
        "negative_prompt",
        "safe",
        "quality",
        "image",
        "transparent",
        "key",
    }
)
_POLLINATIONS_MESSAGES = {
    400: (
        "BAD_REQUEST",
        "Something was wrong with the input data, check the details for more info.",
    ),
    401: (
        "UNAUTHORIZED",
        "Authentication required. Please provide an API key via Authorization header"
        " (Bearer token) or ?key= query parameter.",
    ),
    402: ("PAYMENT_REQUIRED", "Insufficient pollen balance or API key budget exhausted."),
    404: ("NOT_FOUND", "Not Found"),
    403: (
        "FORBIDDEN",
        "Access denied! You don't have the required permissions for this resource or model.",
    ),
    500: ("INTERNAL_ERROR", "Oh snap, something went wrong on our end. We're on it!"),
}


def pollinations_error(
    status: int, message: str | None = None, field_errors: dict[str, list[str]] | None = None
) -> tuple[int, dict[str, Any]]:
    """The gateway's error body: ``{"status", "success": false, "error": {...}}``."""
    code, default = _POLLINATIONS_MESSAGES.get(status, ("ERROR", "Error"))
    details: dict[str, Any] = {"name": code.title().replace("_", "") + "Error"}
    if field_errors is not None:
        details.update({"formErrors": [], "fieldErrors": field_errors})
    error = {
        "code": code,
        "message": message or default,
        "timestamp": "2026-12-06T00:00:00.000Z",
        "details": details,
        "requestId": "req-fake",
        "cause": None,
    }
    return status, {"status": status, "success": False, "error": error}


def pollinations_refusal(
    api_key: str, authorization: str, query: dict[str, str]
) -> tuple[int, dict[str, Any]] | None:
    """The gateway's answer to ``GET /image/{prompt}`` before drawing, or None."""
    presented = authorization.removeprefix("Bearer ") if authorization else query.get("key", "")
    if not presented:
        return pollinations_error(401)
    if presented != api_key:
        return pollinations_error(401, "Invalid API key")
    unknown = sorted(set(query) - POLLINATIONS_IMAGE_QUERY)
    if unknown:
        return pollinations_error(
            400, field_errors={name: ["Unrecognized query parameter"] for name in unknown}
        )
    model = query.get("model", "flux")
    if model not in POLLINATIONS_IMAGE_MODELS:
        return pollinations_error(
            400,
            f"Model '{model}' not found",
            field_errors={"model": [f"Invalid option: {model}"]},
        )
    for name in ("width", "height", "seed"):
        if name in query and not re.fullmatch(r"-?\d+", query[name]):
            return pollinations_error(400, field_errors={name: ["Expected number"]})
    return None
