"""Typed settings shared by every server process.

Each service subclasses ``ServerSettings`` with its own ``env_prefix`` (``PROMPT_SVC_`` ...) for
what is its own (port, host), while names the whole stack shares (``MEDIA_SERVICE_URL``,
``LOG_LEVEL`` ...) are read without a prefix through ``validation_alias``. Values come from, in
order: command-line flags, the environment, ``.env``, the defaults here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mesh.logs import LogFormat

MiB = 1024 * 1024
ISSUER = "photofun-dev"  # JWT_ISSUER's default: the shared-secret (dev) mode's issuer
AUDIENCE = "photofun"  # JWT_AUDIENCE's default
SECRET_MIN_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash


def shared(name: str) -> AliasChoices:
    """An environment name read as is (no service prefix), also settable by field name."""
    return AliasChoices(name)


# Every settings class of the stack reads the same sources the same way; mixins repeat it so
# that pydantic's merge of base configurations cannot drop a key.
BASE_CONFIG = SettingsConfigDict(
    env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
)


class TelemetrySettings(BaseSettings):
    """Traces and metrics (mesh.tracing, mesh.metrics): on by default, one switch for both."""

    model_config = BASE_CONFIG

    telemetry: bool = Field(
        True,
        validation_alias=shared("TELEMETRY"),
        description="Tracing and the metrics endpoint; false turns both off.",
    )
    otlp_endpoint: str | None = Field(
        None,
        validation_alias=shared("OTEL_EXPORTER_OTLP_ENDPOINT"),
        description="OTLP/HTTP collector base URL (spans go to its /v1/traces).",
    )
    traces_file: Path | None = Field(
        None,
        validation_alias=shared("TRACES_FILE"),
        description="JSON-lines file spans are appended to (make run: var/traces.jsonl).",
    )


class AuthSettings(BaseSettings):
    """How bearer tokens are verified (every service that authenticates callers)."""

    model_config = BASE_CONFIG

    jwt_secret: SecretStr = Field(
        SecretStr(""),  # empty: not set
        validation_alias=shared("JWT_SECRET"),
        description="HS256 key of bearer tokens, at least 32 bytes (RFC 7518 §3.2); "
        "shared-secret mode. `make run` makes one per stack when unset.",
    )
    jwt_jwks_url: str | None = Field(
        None,
        validation_alias=shared("JWT_JWKS_URL"),
        description="The identity provider's JWKS URL: RS256/ES256 tokens (production mode).",
    )
    jwt_issuer: str = Field(
        ISSUER, validation_alias=shared("JWT_ISSUER"), description="Required `iss` of tokens."
    )
    jwt_audience: str = Field(
        AUDIENCE,
        validation_alias=shared("JWT_AUDIENCE"),
        description="Required `aud` of tokens (this API's identifier at the provider).",
    )
    jwt_max_lifetime: float = Field(
        86_400.0,
        gt=0,
        le=30 * 86_400,
        validation_alias=shared("JWT_MAX_LIFETIME"),
        description="Longest token lifetime accepted (exp - iat), in seconds.",
    )
    jwt_leeway: float = Field(
        30.0,
        ge=0,
        le=300,
        validation_alias=shared("JWT_LEEWAY"),
        description="Clock skew allowed on exp, iat and nbf, in seconds.",
    )
    jwt_jwks_cache_seconds: float = Field(
        300.0,
        gt=0,
        validation_alias=shared("JWT_JWKS_CACHE_SECONDS"),
        description="How long the fetched JWKS is used before it is fetched again.",
    )

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and len(value.get_secret_value().encode()) < SECRET_MIN_BYTES:
            raise ValueError(f"JWT_SECRET must be at least {SECRET_MIN_BYTES} bytes long")
        return value

    @field_validator("jwt_jwks_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("JWT_JWKS_URL must be an http(s) URL")
        return value


class ServerSettings(AuthSettings, TelemetrySettings):
    """What every gRPC server process needs: where it listens, and how callers prove who they
    are (every RPC but health needs a user token, or a mesh service acting for a user)."""

    model_config = BASE_CONFIG

    host: str = Field("127.0.0.1", description="Address to listen on; 0.0.0.0 in containers.")
    port: int = Field(0, ge=0, le=65535, description="TCP port; 0 picks a free one.")
    log_level: str = Field("INFO", validation_alias=shared("LOG_LEVEL"))
    log_format: LogFormat = Field("console", validation_alias=shared("LOG_FORMAT"))
    grace_period: float = Field(
        5.0, ge=0, description="Seconds in-flight RPCs get to finish after SIGTERM."
    )
    max_message_bytes: int = Field(
        32 * MiB, ge=MiB, description="Largest gRPC message accepted or sent (images are big)."
    )
    mesh_tls_dir: Path | None = Field(
        None,
        validation_alias=shared("MESH_TLS_DIR"),
        description="Folder of the mesh's CA and certificates (`python -m mesh.pki init DIR`). "
        "Set: every server takes TLS only and requires a client certificate of that CA; the "
        "worker and the edge present theirs. Unset: plaintext (loopback, `make run`).",
    )
    tls_name: str = Field(
        "",
        description="This process's certificate in MESH_TLS_DIR (<name>.crt / <name>.key); "
        "its service's name by default.",
    )
    grpc_reflection: bool = Field(
        True,
        validation_alias=shared("GRPC_REFLECTION"),
        description="Serve gRPC server reflection (grpcurl list/describe without protos). On for "
        "`make run`; docker-compose.yml turns it off unless GRPC_REFLECTION=true.",
    )
    mesh_token_key: SecretStr | None = Field(
        None,  # derived from JWT_SECRET
        validation_alias=shared("MESH_TOKEN_KEY"),
        description="Plaintext mode: HS256 key of the service tokens a mesh service sends when "
        "it calls for a user (at least 32 bytes, the same on every process). Derived from "
        "JWT_SECRET when unset; needed with JWT_JWKS_URL unless the mesh runs mTLS.",
    )
    rate_limit_redis_url: str | None = Field(
        None,
        validation_alias=shared("RATE_LIMIT_REDIS_URL"),
        description="Redis holding the per-user rate-limit buckets every replica shares "
        "(mesh.ratelimit). Unset: no per-user limits. `make run` uses its Redis (database 1).",
    )
    rate_limit_images_per_minute: float = Field(
        20.0,
        ge=0,
        validation_alias=shared("RATE_LIMIT_IMAGES_PER_MINUTE"),
        description="Generate, GenerateAngles and EditImage calls one user may make a minute "
        "(0: unlimited).",
    )
    rate_limit_images_burst: int = Field(
        10,
        ge=1,
        validation_alias=shared("RATE_LIMIT_IMAGES_BURST"),
        description="Image calls one user may make at once before the per-minute rate applies.",
    )
    rate_limit_gemini_per_minute: float = Field(
        30.0,
        ge=0,
        validation_alias=shared("RATE_LIMIT_GEMINI_PER_MINUTE"),
        description="Refine and DetectIntent calls (one bucket) one user may make a minute "
        "while they call Gemini, i.e. GEMINI_API_KEY is set (0: unlimited).",
    )
    rate_limit_gemini_burst: int = Field(
        10,
        ge=1,
        validation_alias=shared("RATE_LIMIT_GEMINI_BURST"),
        description="Refine and DetectIntent calls (Gemini) one user may make at once.",
    )
    rate_limit_messages_per_minute: float = Field(
        10.0,
        ge=0,
        validation_alias=shared("RATE_LIMIT_MESSAGES_PER_MINUTE"),
        description="SendMessage calls one user may make a minute (0: unlimited).",
    )
    rate_limit_messages_burst: int = Field(
        5,
        ge=1,
        validation_alias=shared("RATE_LIMIT_MESSAGES_BURST"),
        description="SendMessage calls one user may make at once.",
    )
    mesh_trusted_callers: str = Field(
        "conversation_svc",
        validation_alias=shared("MESH_TRUSTED_CALLERS"),
        description="Comma-separated service identities allowed to call for an end user "
        "(x-photofun-user metadata): the pipeline's worker runs as conversation_svc.",
    )
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Port of the Prometheus /metrics endpoint; 0: none."
    )


class MediaSettings(BaseSettings):
    """Where the Media Service is: every service that stores or checks image URLs needs it."""

    model_config = BASE_CONFIG

    media_service_url: str = Field(
        "http://127.0.0.1:8090",
        validation_alias=shared("MEDIA_SERVICE_URL"),
        description="The Media Service's base URL as this process reaches it.",
    )
    media_public_url: str | None = Field(
        None,
        validation_alias=shared("MEDIA_PUBLIC_URL"),
        description="The Media Service's public base URL when clients see another name than "
        "MEDIA_SERVICE_URL (compose: http://localhost:8090 vs http://media:8090).",
    )


SettingsT = TypeVar("SettingsT", bound=ServerSettings)


def settings_from_cli(
    cls: type[SettingsT], description: str, argv: Sequence[str] | None = None
) -> SettingsT:
    """Build settings from flags (which win) layered over environment and ``.env``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", help="address to listen on")
    parser.add_argument("--port", type=int, help="TCP port to listen on (0: any free port)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR")
    parser.add_argument("--log-format", choices=["console", "json"], help="log line format")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if v is not None}
    try:
        return cls(**overrides)
    except ValidationError as exc:  # one line, not a traceback
        print(f"{program_name()}: cannot start: {describe(exc)}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


def program_name() -> str:
    """``conversation_svc`` for ``python -m conversation_svc``."""
    main = Path(sys.argv[0])
    return main.parent.name if main.name == "__main__.py" else main.stem or "service"


def describe(exc: ValidationError) -> str:
    """A settings error in one line: each bad setting with why."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
    )
