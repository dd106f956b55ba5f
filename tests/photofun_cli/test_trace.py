"""``photofun trace``'s reading of the spans file, fed by the OpenTelemetry SDK itself through
the stack's exporter (and through the SDK's own JSON, which earlier versions wrote)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Status, StatusCode, set_span_in_context
from rich.console import Console

from mesh.tracing import JsonLinesSpanExporter, span_line
from photofun_cli.main import run
from photofun_cli.trace import read_spans, read_trace, waterfall


def _provider(service: str, path: Path, sdk_json: io.StringIO | None) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter: SpanExporter
    if sdk_json is not None:
        exporter = ConsoleSpanExporter(
            out=sdk_json, formatter=lambda s: s.to_json(indent=None) + "\n"
        )
    else:
        exporter = JsonLinesSpanExporter(path, service)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture(params=["span_line", "sdk_json"])
def sdk_json(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "sdk_json")


def write_trace(path: Path, sdk_json: bool = False) -> str:
    """Two "processes" of one trace, plus an unrelated trace and a torn line."""
    old = io.StringIO() if sdk_json else None
    front_provider = _provider("conversation_svc", path, old)
    back_provider = _provider("worker", path, old)
    front, back = front_provider.get_tracer("t"), back_provider.get_tracer("t")
    with front.start_as_current_span("SendMessage") as root:
        trace_id = format(root.get_span_context().trace_id, "032x")
        time.sleep(0.002)
        with front.start_as_current_span("enqueue") as enqueue:
            context = set_span_in_context(enqueue)
    with (
        back.start_as_current_span("run", context=context),
        back.start_as_current_span("upload") as upload,
    ):
        upload.set_status(Status(StatusCode.ERROR, "MEDIA_UNAVAILABLE"))
    with front.start_as_current_span("other trace"):
        pass
    front_provider.shutdown()
    back_provider.shutdown()
    with path.open("a", encoding="utf-8") as out:
        out.write(old.getvalue() if old is not None else "")
        out.write(f'{{"trace_id": "{trace_id}", "name": "torn')
    return trace_id


def test_waterfall_puts_children_under_parents_with_offsets(tmp_path: Path, sdk_json: bool) -> None:
    trace_id = write_trace(tmp_path / "traces.jsonl", sdk_json)
    lines = waterfall(read_trace(tmp_path / "traces.jsonl", trace_id))
    rows = [line.split() for line in lines]
    assert [(r[0], r[1]) for r in rows] == [
        ("conversation_svc", "SendMessage"),
        ("conversation_svc", "enqueue"),
        ("worker", "run"),
        ("worker", "upload"),
    ]
    depth = [len(line.split("  ", 1)[1]) - len(line.split("  ", 1)[1].lstrip()) for line in lines]
    assert depth == sorted(depth)  # each one level deeper than the last
    assert rows[0][2:5] == ["+", "0.0", "ms"]
    assert float(rows[1][3]) >= 2.0  # enqueue started after the 2 ms sleep
    assert rows[0][-1] == "OK"
    assert rows[3][-2:] == ["ERROR", "MEDIA_UNAVAILABLE"]


def test_cli_prints_a_trace_by_id_and_fails_clearly_without_one(tmp_path: Path) -> None:
    trace_id = write_trace(tmp_path / "traces.jsonl")
    out, err = io.StringIO(), io.StringIO()
    argv = ["trace", trace_id, "--traces", str(tmp_path / "traces.jsonl")]
    assert run(argv, out=Console(file=out, width=200), err=Console(file=err)) == 0
    assert out.getvalue().splitlines()[0] == f"trace {trace_id}"
    assert len(out.getvalue().splitlines()) == 5
    missing = ["trace", "0" * 32, "--traces", str(tmp_path / "traces.jsonl")]
    assert run(missing, out=Console(file=out), err=Console(file=err, width=200)) == 1
    assert f"no spans of trace {'0' * 32}" in err.getvalue()
    assert waterfall(read_trace(tmp_path / "absent.jsonl", trace_id)) == []


def test_a_span_line_is_json_whatever_the_names_hold() -> None:
    line = span_line(
        trace_id="ab" * 16,
        span_id="cd" * 8,
        parent_id="",
        service='svc "quoted"',
        name="view ảnh\\n\t",
        start_ns=1_700_000_000_123_456_789,
        end_ns=1_700_000_001_000_000_000,
        status="ERROR",
        description='UNAVAILABLE: "down"',
    )
    assert line.endswith("\n")
    assert line.count("\n") == 1
    (span,) = read_spans([line], "AB" * 16)
    assert (span.service, span.name, span.parent_id) == ('svc "quoted"', "view ảnh\\n\t", None)
    assert span.status == 'ERROR UNAVAILABLE: "down"'
    assert span.start.microsecond == 123_456
    assert round(span.seconds, 6) == 0.876544  # microseconds: the start is cut, not rounded
