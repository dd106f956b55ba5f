"""Settings of the prompt service (env prefix ``PROMPT_SVC_``; shared names unprefixed)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from mesh import providers
from mesh.limits import MAX_PROMPT_CHARS
from mesh.settings import MediaSettings, ServerSettings, shared


class Settings(ServerSettings, MediaSettings):
    """Listening address, Gemini access and input limits."""

    model_config = SettingsConfigDict(env_prefix="PROMPT_SVC_")

    port: int = Field(50051, ge=0, le=65535)
    tls_name: str = Field("prompt_svc", description="Its certificate in MESH_TLS_DIR.")
    metrics_port: int = Field(
        9101, ge=0, le=65535, description="Port of the Prometheus /metrics endpoint; 0: none."
    )
    gemini_api_key: SecretStr | None = Field(None, validation_alias=shared("GEMINI_API_KEY"))
    gemini_model: str = Field(
        providers.GEMINI_TEXT_MODEL,
        validation_alias=shared("GEMINI_MODEL"),
        description="Gemini model for refinement; a current one (see docs/prompt-service.md).",
    )
    gemini_base_url: str | None = Field(
        None,
        validation_alias=shared("GEMINI_BASE_URL"),
        description="Override of the Gemini endpoint (a proxy, or a fake server in tests).",
    )
    gemini_timeout: float = Field(8.0, gt=0, description="Seconds for one Gemini attempt.")
    gemini_attempts: int = Field(3, ge=1, le=10, description="Attempts on 429 and 5xx.")
    max_prompt_chars: int = Field(
        MAX_PROMPT_CHARS,
        ge=1,
        description="Longest prompt Refine and DetectIntent take; conversation_svc accepts "
        "prompts up to mesh.limits.MAX_PROMPT_CHARS, so never set it lower.",
    )
