"""The dev stack's OTLP receiver: spans exported to it over real OTLP/gRPC (the SDK's own
exporter encoding them, the generated stub sending them) land in the spans file in the shape
the services write, so ``photofun trace`` reads them."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as otlp_grpc
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from devstack.processes import free_port, tcp_probe
from mesh.tracing import JsonLinesSpanExporter
from photofun_cli.trace import read_trace, waterfall

pytestmark = pytest.mark.asyncio


@contextlib.asynccontextmanager
async def receiver(traces: Path) -> AsyncIterator[str]:
    """``python -m devstack.otlp_receiver`` as the stack starts it."""
    port = free_port()
    argv = ["-m", "devstack.otlp_receiver", "--port", str(port), "--traces", str(traces)]
    process = await asyncio.create_subprocess_exec(sys.executable, *argv)
    try:
        probe = tcp_probe("127.0.0.1", port)
        for _ in range(300):
            if await probe():
                break
            await asyncio.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        await process.wait()


async def test_envoys_spans_are_appended_in_the_services_shape(tmp_path: Path) -> None:
    traces = tmp_path / "traces.jsonl"
    edge_spans = InMemorySpanExporter()
    edge = TracerProvider(resource=Resource.create({"service.name": "envoy"}))
    edge.add_span_processor(SimpleSpanProcessor(edge_spans))
    with edge.get_tracer("t").start_as_current_span("ingress") as ingress:
        ingress.set_status(Status(StatusCode.ERROR, "upstream reset"))
        trace_id = format(ingress.get_span_context().trace_id, "032x")
        context = set_span_in_context(ingress)
    # A service of the stack writes its span straight to the file, under Envoy's.
    service = TracerProvider(resource=Resource.create({"service.name": "conversation_svc"}))
    service.add_span_processor(
        SimpleSpanProcessor(JsonLinesSpanExporter(traces, "conversation_svc"))
    )
    with service.get_tracer("t").start_as_current_span("SendMessage", context=context):
        pass
    service.shutdown()

    async with receiver(traces) as target, grpc.aio.insecure_channel(target) as channel:
        stub = otlp_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
        # Waits for the receiver to listen: a loaded machine may take long to start Python.
        await stub.Export(
            encode_spans(edge_spans.get_finished_spans()), timeout=60, wait_for_ready=True
        )

    spans = read_trace(traces, trace_id)
    assert [(s.service, s.name) for s in spans] == [
        ("conversation_svc", "SendMessage"),
        ("envoy", "ingress"),
    ]
    rows = [line.split() for line in waterfall(spans)]
    assert [r[:2] for r in rows] == [["envoy", "ingress"], ["conversation_svc", "SendMessage"]]
    assert rows[0][-3:] == ["ERROR", "upstream", "reset"]
    assert spans[0].parent_id == spans[1].span_id
    assert spans[1].seconds >= 0
