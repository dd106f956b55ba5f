"""Settings of the conversation service and its worker (env prefix ``CONVERSATION_SVC_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from mesh.settings import ServerSettings, shared


class Settings(ServerSettings):
    """Listening address, storage, broker, the services it calls, auth and limits."""

    model_config = SettingsConfigDict(env_prefix="CONVERSATION_SVC_")

    port: int = Field(50053, ge=0, le=65535)
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
    media_service_url: str = Field(
        "http://127.0.0.1:8090", validation_alias=shared("MEDIA_SERVICE_URL")
    )
    jwt_secret: SecretStr = Field(
        SecretStr("dev-only-secret-change-me"), validation_alias=shared("JWT_SECRET")
    )
