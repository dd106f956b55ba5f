"""What a background task started from inside a call inherits, and what it must not."""

from __future__ import annotations

import asyncio

import structlog
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from mesh.logs import bind_context, clear_context
from mesh.tracing import background_context

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
