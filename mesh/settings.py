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

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from mesh.logs import LogFormat

MiB = 1024 * 1024


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


class ServerSettings(TelemetrySettings):
    """What every gRPC server process needs."""

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
