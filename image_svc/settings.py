"""Settings of the image service (env prefix ``IMAGE_SVC_``; shared names unprefixed)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from image_svc.limits import parse_concurrency
from mesh import providers as clouds
from mesh.settings import MediaSettings, MiB, ServerSettings, shared


class Settings(ServerSettings, MediaSettings):
    """Listening address, renderer behaviour, concurrency and input limits."""

    model_config = SettingsConfigDict(env_prefix="IMAGE_SVC_")

    port: int = Field(50052, ge=0, le=65535)
    tls_name: str = Field("image_svc", description="Its certificate in MESH_TLS_DIR.")
    metrics_port: int = Field(
        9102, ge=0, le=65535, description="Port of the Prometheus /metrics endpoint; 0: none."
    )
    mock_latency: float = Field(
        0.0, ge=0, description="Artificial seconds per mock image, to show and measure parallelism."
    )
    mock_jitter: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Spread of that latency: each image waits latency × (1 ± jitter), fixed by "
        "its seed, so the views of a set arrive one by one as a real model's do.",
    )
    max_concurrency: int = Field(8, ge=1, le=64, description="Images rendered at once per call.")
    provider_concurrency: str = Field(
        "",
        description="Images each provider makes at once, as name=N pairs, comma-separated "
        "(e.g. gemini=4,mock=32); unnamed ones keep gemini=8, openai=4, pollinations=4, "
        "mock=64. More wait in line.",
    )
    provider_queue: int = Field(
        256,
        ge=0,
        description="Images that may wait for one provider; beyond, RESOURCE_EXHAUSTED "
        "PROVIDER_BUSY with a RetryInfo.",
    )
    render_mode: Literal["process", "thread"] = Field(
        "process", description="Where CPU-bound drawing runs: spawned processes or threads."
    )
    render_workers: int = Field(0, ge=0, description="Pool size; 0 means one per core.")
    provider_timeout: float = Field(60.0, gt=0, description="Seconds for one provider attempt.")
    providers: str = Field(
        "",
        description="Real providers to try before the mock, in order, comma-separated: "
        "gemini, pollinations, openai. Empty: only the mock.",
    )
    gemini_api_key: SecretStr | None = Field(None, validation_alias=shared("GEMINI_API_KEY"))
    gemini_base_url: str | None = Field(None, validation_alias=shared("GEMINI_BASE_URL"))
    gemini_image_model: str = Field(
        clouds.GEMINI_IMAGE_MODEL,
        validation_alias=shared("GEMINI_IMAGE_MODEL"),
        description="A row of image_svc/providers/gemini_images.py MODELS.",
    )
    openai_api_key: SecretStr | None = Field(None, validation_alias=shared("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=shared("OPENAI_BASE_URL"))
    openai_image_model: str = Field(
        clouds.OPENAI_IMAGE_MODEL,
        validation_alias=shared("OPENAI_IMAGE_MODEL"),
        description="A row of image_svc/providers/openai_images.py MODELS.",
    )
    pollinations_api_key: SecretStr | None = Field(
        None,
        # The gateway calls it an API key; the older name still reads.
        validation_alias=AliasChoices("POLLINATIONS_API_KEY", "POLLINATIONS_TOKEN"),
        description="Required by the Pollinations gateway; without it Pollinations is off.",
    )
    pollinations_base_url: str | None = Field(
        None, validation_alias=shared("POLLINATIONS_BASE_URL")
    )
    pollinations_model: str = Field(
        clouds.POLLINATIONS_IMAGE_MODEL,
        validation_alias=shared("POLLINATIONS_MODEL"),
        description="A row of image_svc/providers/pollinations.py MODELS.",
    )
    brand_lookup_url: str | None = Field(
        None, description="Optional logo-description endpoint (GET ?brand=NAME); table otherwise."
    )
    brand_lookup_timeout: float = Field(1.5, gt=0)

    @field_validator("provider_concurrency")
    @classmethod
    def _concurrency_pairs(cls, value: str) -> str:
        parse_concurrency(value)  # raises ValueError naming the bad pair
        return value

    max_input_bytes: int = Field(15 * MiB, ge=1024, description="Largest input image fetched.")
    max_input_pixels: int = Field(25_000_000, ge=1, description="Largest input image decoded.")
