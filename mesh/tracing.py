"""OpenTelemetry tracing for every process: one tracer provider, where its spans go, and the
maintained instrumentations (gRPC aio server and client, PyMongo, httpx, aiohttp's client; Celery
in the worker).

Spans are exported with OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (compose: the
Collector), and appended as compact JSON lines to ``TRACES_FILE`` when that is set (``make run``:
``var/traces.jsonl``, which ``photofun trace MESSAGE_ID`` reads; ``span_line`` is the shape,
which the dev stack's OTLP receiver also writes for Envoy's spans). Context crosses processes as
W3C ``traceparent``: gRPC metadata, Celery task headers, HTTP headers. With
``TELEMETRY=false`` nothing is set up: the API's no-op tracer costs next to nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Span, Status, StatusCode

from mesh.settings import TelemetrySettings

_configured: dict[str, TracerProvider] = {}


def span_line(
    *,
    trace_id: str,
    span_id: str,
    parent_id: str,
    service: str,
    name: str,
    start_ns: int,
    end_ns: int,
    status: str,
    description: str = "",
) -> str:
    """One finished span as a line of the spans file: ids in lowercase hex (``parent_id`` ""
    for a root), times in Unix nanoseconds, status ``UNSET``, ``OK`` or ``ERROR``. Only what
    ``photofun trace`` shows: the full span (attributes, events) goes to OTLP."""
    # Formatted by hand rather than json.dumps of a dict: a third of the cost, and only the
    # names and the description are text that needs JSON's escaping.
    extra = f',"description":{json.dumps(description, ensure_ascii=False)}' if description else ""
    return (
        f'{{"trace_id":"{trace_id}","span_id":"{span_id}","parent_id":"{parent_id}",'
        f'"service":{json.dumps(service, ensure_ascii=False)},'
        f'"name":{json.dumps(name, ensure_ascii=False)},'
        f'"start_ns":{start_ns:d},"end_ns":{end_ns:d},"status":"{status}"{extra}}}\n'
    )


class JsonLinesSpanExporter(SpanExporter):
    """Appends each batch of spans to a file as ``span_line`` lines, in one write.

    The file is opened with O_APPEND, so the batches of the several processes that share it
    never interleave within a line. Cheaper than the SDK's ConsoleSpanExporter with
    ``ReadableSpan.to_json`` (every attribute, ISO times, one write a span), which profiles
    of conversation_svc under load put at 6 to 13 % of its samples (docs/operations.md)."""

    def __init__(self, path: Path, service: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._service = service

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for s in spans:
            context, parent, status = s.context, s.parent, s.status
            if context is None:
                continue
            lines.append(
                span_line(
                    trace_id=format(context.trace_id, "032x"),
                    span_id=format(context.span_id, "016x"),
                    parent_id=format(parent.span_id, "016x") if parent is not None else "",
                    service=self._service,
                    name=s.name,
                    start_ns=s.start_time or 0,
                    end_ns=s.end_time or 0,
                    status=status.status_code.name,
                    description=status.description or "",
                )
            )
        if lines:
            try:
                os.write(self._fd, "".join(lines).encode())
            except OSError:
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


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
        exporter = JsonLinesSpanExporter(Path(settings.traces_file), service)
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    PymongoInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)  # the cloud providers
    AioHttpClientInstrumentor().instrument(tracer_provider=provider)  # the Media Service
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


def background_context() -> contextvars.Context:
    """A context to start a long-lived background task in
    (``asyncio.create_task(coro, context=background_context())``): outside every call's trace,
    without any call's bound log fields, and with the instrumentations' spans off. A task
    started from inside a call copies that call's context otherwise, so every database command
    it runs for the life of the process (a change stream's polls, a span each) lands in that
    one call's trace, and its log lines carry that call's request id."""
    fresh = contextvars.Context()
    # The key every instrumentation checks (opentelemetry.instrumentation.utils sets it too).
    key = otel_context._SUPPRESS_INSTRUMENTATION_KEY
    suppressed = otel_context.set_value(key, True, otel_context.Context())  # nothing else
    fresh.run(otel_context.attach, suppressed)
    return fresh


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
