"""``python -m devstack.otlp_receiver``: a small OTLP/gRPC trace receiver for the dev stack.

Envoy's OpenTelemetry tracer exports its spans over OTLP/gRPC to a collector cluster. Compose
runs the OpenTelemetry Collector; the embedded stack has none, so this process stands in for
its trace endpoint: it serves ``opentelemetry.proto.collector.trace.v1.TraceService/Export``
(the generated stubs of the ``opentelemetry-proto`` package) and appends every span it
receives to the spans file, in the shape the stack's own processes write
(``mesh.tracing.span_line``). ``photofun trace`` then shows the edge's span first, above
conversation_svc's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as otlp
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as otlp_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

from mesh.tracing import span_line

_STATUS = {
    trace_pb2.Status.STATUS_CODE_UNSET: "UNSET",
    trace_pb2.Status.STATUS_CODE_OK: "OK",
    trace_pb2.Status.STATUS_CODE_ERROR: "ERROR",
}


def span_lines(request: otlp.ExportTraceServiceRequest) -> Iterator[str]:
    """Each span of an OTLP export request as a line of the spans file."""
    for resource_spans in request.resource_spans:
        service = next(
            (
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            ),
            "?",
        )
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                yield span_line(
                    trace_id=s.trace_id.hex(),
                    span_id=s.span_id.hex(),
                    parent_id=s.parent_span_id.hex(),
                    service=service,
                    name=s.name,
                    start_ns=s.start_time_unix_nano,
                    end_ns=s.end_time_unix_nano,
                    status=_STATUS.get(s.status.code, "UNSET"),
                    description=s.status.message,
                )


class TraceReceiver(otlp_grpc.TraceServiceServicer):
    """Appends each export's spans to ``path`` in one write (O_APPEND: the services' batches
    and these never interleave within a line)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    async def Export(
        self,
        request: otlp.ExportTraceServiceRequest,
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
    ) -> otlp.ExportTraceServiceResponse:
        text = "".join(span_lines(request))
        if text:
            await asyncio.to_thread(os.write, self._fd, text.encode())
        return otlp.ExportTraceServiceResponse()

    def close(self) -> None:
        os.close(self._fd)


async def serve(host: str, port: int, path: Path) -> None:
    """Receive spans on ``host:port`` until SIGTERM or SIGINT."""
    receiver = TraceReceiver(path)
    server = grpc.aio.server()
    otlp_grpc.add_TraceServiceServicer_to_server(receiver, server)  # type: ignore[no-untyped-call]
    server.add_insecure_port(f"{host}:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(2)
    receiver.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4317)
    parser.add_argument("--traces", type=Path, required=True, help="the spans file to append to")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.traces))


if __name__ == "__main__":
    main()
