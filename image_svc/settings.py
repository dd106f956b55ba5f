"""Settings of the image service (env prefix ``IMAGE_SVC_``; shared names unprefixed)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from mesh.settings import MiB, ServerSettings, shared


class Settings(ServerSettings):
    """Listening address, renderer behaviour, concurrency and input limits."""

    model_config = SettingsConfigDict(env_prefix="IMAGE_SVC_")

    port: int = Field(50052, ge=0, le=65535)
    mock_latency: float = Field(
        0.0, ge=0, description="Artificial seconds per mock image, to show and measure parallelism."
    )
    max_concurrency: int = Field(8, ge=1, le=64, description="Images rendered at once per call.")
    render_workers: int = Field(
        0, ge=0, description="Processes for CPU-bound rendering; 0 means one per core."
    )
    media_service_url: str = Field(
        "http://127.0.0.1:8090", validation_alias=shared("MEDIA_SERVICE_URL")
    )
    max_input_bytes: int = Field(15 * MiB, ge=1024, description="Largest input image fetched.")
    max_input_pixels: int = Field(25_000_000, ge=1, description="Largest input image decoded.")
