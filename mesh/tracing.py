"""OpenTelemetry tracing for every process: one tracer provider, where its spans go, and the
maintained instrumentations (gRPC aio server and client, PyMongo, httpx; Celery in the worker).

Spans are exported with OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (compose: the
Collector), and appended as JSON lines to ``TRACES_FILE`` when that is set (``make run``:
``var/traces.jsonl``, which ``photofun trace MESSAGE_ID`` reads). Context crosses processes as
W3C ``traceparent``: gRPC metadata, Celery task headers, HTTP headers. With
``TELEMETRY=false`` nothing is set up: the API's no-op tracer costs next to nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace import Span, Status, StatusCode

from mesh.settings import TelemetrySettings

_configured: dict[str, TracerProvider] = {}


def _json_line(span: ReadableSpan) -> str:
    line: str = span.to_json(indent=None)
    return line + "\n"


def configure_tracing(service: str, settings: TelemetrySettings) -> TracerProvider | None:
    """Install the tracer provider of this process once; None when telemetry is off."""
    if not settings.telemetry:
        return None
    if service in _configured:
        return _configured[service]
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if settings.traces_file is not None:
        path = Path(settings.traces_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write per span on an O_APPEND file: lines of several processes do not interleave.
        out = path.open("a", encoding="utf-8", buffering=1)
        exporter = ConsoleSpanExporter(service_name=service, out=out, formatter=_json_line)
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    PymongoInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _configured[service] = provider
    return provider


def shutdown_tracing() -> None:
    """Flush and stop the exporters (at process exit)."""
    for provider in _configured.values():
        provider.shutdown()


def server_interceptors(settings: TelemetrySettings) -> Sequence[grpc.aio.ServerInterceptor]:
    """The OpenTelemetry aio server interceptor (continues the caller's trace), or none."""
    if not settings.telemetry:
        return ()
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return (aio_server_interceptor(),)  # type: ignore[no-untyped-call]


def client_interceptors(settings: TelemetrySettings) -> list[Any]:
    """The OpenTelemetry aio client interceptors (send ``traceparent``), or none."""
    if not settings.telemetry:
        return []
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return list(aio_client_interceptors())  # type: ignore[no-untyped-call]


tracer = trace.get_tracer("photofun")


@contextlib.contextmanager
def span(name: str, **attributes: str | int | float | bool) -> Iterator[Span]:
    """A span of our own (analysis, a view, an upload) around a block."""
    with tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


def fail_span(code: str, message: str) -> None:
    """Mark the current span as failed with a status code name and a message."""
    current = trace.get_current_span()
    current.set_attribute("rpc.grpc.status_code_name", code)
    current.set_status(Status(StatusCode.ERROR, f"{code}: {message}"))


def current_trace_id() -> str:
    """The current trace id as 32 hex digits, or "" outside a trace."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""
