"""Settings of the conversation service and its worker (env prefix ``CONVERSATION_SVC_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from conversation_svc.tokens import derive_key
from mesh.auth import AuthConfigError
from mesh.settings import MediaSettings, MiB, ServerSettings, shared


class Settings(ServerSettings, MediaSettings):
    """Listening address, storage, broker, the services it calls, auth and limits."""

    model_config = SettingsConfigDict(env_prefix="CONVERSATION_SVC_")

    port: int = Field(50053, ge=0, le=65535)
    tls_name: str = Field("conversation_svc", description="Its certificate in MESH_TLS_DIR.")
    metrics_port: int = Field(
        9103, ge=0, le=65535, description="Port of the Prometheus /metrics endpoint; 0: none."
    )
    worker_metrics_port: int = Field(
        9104,
        ge=0,
        le=65535,
        description="Port of the Celery worker's /metrics endpoint (all its processes); 0: none.",
    )
    mongodb_uri: str = Field(
        "mongodb://127.0.0.1:27017/?directConnection=true", validation_alias=shared("MONGODB_URI")
    )
    mongodb_database: str = Field("photofun", validation_alias=shared("MONGODB_DATABASE"))
    celery_broker_url: str = Field(
        "redis://127.0.0.1:6379/0", validation_alias=shared("CELERY_BROKER_URL")
    )
    prompt_service_url: str = Field(
        "127.0.0.1:50051", validation_alias=shared("PROMPT_SERVICE_URL")
    )
    image_service_url: str = Field("127.0.0.1:50052", validation_alias=shared("IMAGE_SERVICE_URL"))
    mongodb_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a MongoDB call waits for a reachable server before UNAVAILABLE.",
    )
    token_key: SecretStr | None = Field(
        None,
        description="HMAC key of page and resume tokens (at least 32 bytes; the same on every "
        "replica). Derived from JWT_SECRET when unset; required with JWT_JWKS_URL.",
    )

    @field_validator("token_key")
    @classmethod
    def _key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("CONVERSATION_SVC_TOKEN_KEY must be at least 32 bytes long")
        return value

    def token_key_bytes(self) -> bytes:
        """The key page and resume tokens are signed with; ``AuthConfigError`` when none."""
        if self.token_key is not None:
            return self.token_key.get_secret_value().encode()
        if self.jwt_secret.get_secret_value():
            return derive_key(self.jwt_secret.get_secret_value().encode())
        raise AuthConfigError(
            "CONVERSATION_SVC_TOKEN_KEY must be set (at least 32 bytes, the same on every "
            "replica) when tokens are verified with JWT_JWKS_URL"
        )

    max_processing_per_user: int = Field(
        5, ge=1, description="Messages one user may have PROCESSING at once."
    )
    message_timeout: float = Field(
        600.0,
        gt=0,
        description="Seconds a message may stay PROCESSING before the sweeper fails it.",
    )
    sweep_interval: float = Field(15.0, gt=0, description="Seconds between sweeper passes.")
    visibility_timeout: int = Field(
        300, ge=5, description="Seconds before Redis re-delivers an unacknowledged task."
    )
    worker_concurrency: int = Field(
        64,
        ge=1,
        le=1024,
        description="Messages one worker process keeps in flight at once (Celery threads "
        "feeding the process's one event loop).",
    )
    worker_per_user: int = Field(
        2,
        ge=1,
        description="Messages of one user a worker process runs at once; the user's others "
        "wait, so one user's large sets cannot take every slot.",
    )
    lease_ttl: float = Field(
        15.0,
        ge=1,
        description="Seconds a worker's claim on a message lasts without a heartbeat; a dead "
        "worker's messages are queued again after it (the sweeper's next pass).",
    )
    retry_budget: float = Field(
        45.0,
        ge=0,
        description="Seconds one message may spend on failed upstream calls and the waits "
        "between them (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, Media 5xx) before "
        "it fails.",
    )
    prompt_timeout: float = Field(30.0, gt=0, description="Deadline of one prompt_svc call.")
    image_timeout: float = Field(180.0, gt=0, description="Deadline of one image_svc call.")
    max_upload_bytes: int = Field(
        3 * MiB,
        ge=1024,
        description="Largest image UploadImage takes (the gRPC-web edges take 4 MiB requests).",
    )
    max_upload_pixels: int = Field(
        25_000_000, ge=1, description="Largest image UploadImage decodes (width × height)."
    )
    max_uploads_per_hour: int = Field(
        100, ge=1, description="Pictures one user may store with UploadImage in any hour."
    )
