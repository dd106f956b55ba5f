"""What a background task started from inside a call inherits, and what it must not; and
where spans go when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (compose's Collector)."""

from __future__ import annotations

import asyncio
import gzip
import os
import sys
import zlib
from pathlib import Path

import structlog
from aiohttp import web
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from mesh.logs import bind_context, clear_context
from mesh.tracing import background_context
from tests.http_servers import serve_app

CALL = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
)


def _seen() -> tuple[bool, bool, dict[str, object]]:
    """Whether a span is current, whether instrumentations make spans, the bound log fields."""
    current = trace.get_current_span().get_span_context().is_valid
    return current, is_instrumentation_enabled(), structlog.contextvars.get_contextvars()


async def test_a_background_task_leaves_the_calls_trace_and_log_fields_behind() -> None:
    async def inside() -> tuple[bool, bool, dict[str, object]]:
        return _seen()

    with trace.use_span(NonRecordingSpan(CALL)):
        bind_context(request_id="call-1")
        try:
            inherited = await asyncio.create_task(inside())
            background = await asyncio.create_task(inside(), context=background_context())
        finally:
            clear_context()
    assert inherited == (True, True, {"request_id": "call-1"})  # what create_task does alone
    assert background == (False, False, {})


# A process of the stack as compose runs it: the endpoint from the environment, no spans file;
# one span with a child, then the exit path's flush.
EXPORTING = """
from mesh.settings import TelemetrySettings
from mesh.tracing import configure_tracing, shutdown_tracing, tracer

assert configure_tracing("otlp-test", TelemetrySettings()) is not None
with tracer.start_as_current_span("outer"):
    with tracer.start_as_current_span("inner"):
        pass
shutdown_tracing()
"""


async def test_spans_reach_an_otlp_http_endpoint(tmp_path: Path) -> None:
    """The SDK's OTLP/HTTP exporter posts protobuf to ``<endpoint>/v1/traces``; a stand-in
    Collector decodes what arrived."""
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf", request.content_type
        body = await request.read()
        encoding = request.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        received.append(ExportTraceServiceRequest.FromString(body))
        reply = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=reply, content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    env = {k: v for k, v in os.environ.items() if k not in ("TRACES_FILE", "TELEMETRY")}
    async with serve_app(app) as url:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = url + "/"  # a trailing slash is tolerated
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            EXPORTING,
            env=env | {"PYTHONPATH": str(Path(__file__).parents[2])},
            cwd=tmp_path,  # no .env of the checkout
        )
        assert await asyncio.wait_for(process.wait(), 60) == 0
    spans = {
        span.name: (resource.resource, span)
        for request in received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    }
    assert set(spans) == {"outer", "inner"}
    (resource, outer), (_, inner) = spans["outer"], spans["inner"]
    attributes = {a.key: a.value.string_value for a in resource.attributes}
    assert attributes["service.name"] == "otlp-test"
    assert inner.trace_id == outer.trace_id
    assert inner.parent_span_id == outer.span_id
