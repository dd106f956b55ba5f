"""Log lines name the trace and span they were written in (mesh.logs.add_trace_ids), whether
structlog or the standard library (grpc, celery: structlog's foreign chain) wrote them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from mesh.logs import configure_logging, get_logger

CALL = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
)


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict[str, str]]]]:
    """``configure_logging(fmt="json")``, its handler writing to a buffer instead of stderr,
    undone afterwards; reads the lines written so far."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    configure_logging("INFO", "json")
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)

    def lines() -> list[dict[str, str]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    try:
        yield lines
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**config)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda event: get_logger("test.structlog").info(event), id="structlog"),
        pytest.param(lambda event: logging.getLogger("test.stdlib").warning(event), id="stdlib"),
    ],
)
def test_a_line_inside_a_span_carries_its_ids_and_one_outside_none(
    json_lines: Callable[[], list[dict[str, str]]], write: Callable[[str], None]
) -> None:
    with trace.use_span(NonRecordingSpan(CALL)):
        write("inside")
    write("outside")
    inside, outside = json_lines()
    assert inside["event"] == "inside"
    assert (inside["trace_id"], inside["span_id"]) == (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
    )
    assert outside["event"] == "outside"
    assert "trace_id" not in outside
    assert "span_id" not in outside
