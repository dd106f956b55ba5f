"""Where the cloud models live and which ones the stack uses by default.

One place for the endpoints and default model names that the services (prompt_svc's Gemini
client, image_svc's adapters) and the operators' live check (``photofun providers check``)
share. Each was checked against the provider's own documentation on the date in
docs/image-service.md and docs/prompt-service.md; every default is overridable in settings.
"""

from __future__ import annotations

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
# The Gemini API version whose definition has the fields the stack sends (systemInstruction,
# responseMimeType / responseSchema, responseModalities, imageConfig).
GEMINI_API_VERSION = "v1beta"
GEMINI_TEXT_MODEL = "gemini-3.5-flash-lite"
GEMINI_IMAGE_MODEL = "gemini-3.1-flash-image"

OPENAI_BASE_URL = "https://api.openai.com"
OPENAI_IMAGE_MODEL = "gpt-image-2.6-flare"

POLLINATIONS_BASE_URL = "https://gen.pollinations.ai"
POLLINATIONS_IMAGE_MODEL = "flux"
