"""``photofun trace``: one message's trace, read from the spans file ``make run`` writes.

Each line of the file is one finished span (``mesh.tracing.span_line``: ids, service, name,
times in nanoseconds, status), appended by every process of the stack and, when Envoy is the
edge, by the dev stack's OTLP receiver for Envoy's spans. Lines in OpenTelemetry's own JSON
form (``ReadableSpan.to_json``), which earlier versions wrote, are read too. The waterfall puts a
trace's spans in tree order (children under their parent, by start time) with one line each:
service, span name (indented by depth), start offset from the trace's first span, duration and
status.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SpanLine:
    """One span of a trace, as the waterfall needs it."""

    span_id: str
    parent_id: str | None
    service: str
    name: str
    start: dt.datetime
    end: dt.datetime
    status: str  # OK, or ERROR with its description

    @property
    def seconds(self) -> float:
        """How long the span took."""
        return (self.end - self.start).total_seconds()


def _hex(value: str | None) -> str:
    return (value or "").removeprefix("0x").lower()


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _nanoseconds(value: int) -> dt.datetime:
    seconds, nanos = divmod(value, 1_000_000_000)
    return dt.datetime.fromtimestamp(seconds, dt.UTC) + dt.timedelta(microseconds=nanos // 1000)


def _compact(doc: dict[str, Any]) -> SpanLine:
    code = {"UNSET": "OK"}.get(doc["status"], "ERROR")  # UNSET: "nothing went wrong"
    if doc.get("description"):
        code = f"{code} {doc['description']}"
    return SpanLine(
        span_id=_hex(doc["span_id"]),
        parent_id=_hex(doc["parent_id"]) or None,
        service=str(doc["service"]),
        name=str(doc["name"]),
        start=_nanoseconds(int(doc["start_ns"])),
        end=_nanoseconds(int(doc["end_ns"])),
        status=code,
    )


def _sdk_json(doc: dict[str, Any]) -> SpanLine:
    status = doc.get("status", {})
    code = {"UNSET": "OK"}.get(status.get("status_code", "UNSET"), "ERROR")
    if status.get("description"):
        code = f"{code} {status['description']}"
    return SpanLine(
        span_id=_hex(doc["context"]["span_id"]),
        parent_id=_hex(doc.get("parent_id")) or None,
        service=str(doc["resource"]["attributes"].get("service.name", "?")),
        name=str(doc["name"]),
        start=_time(doc["start_time"]),
        end=_time(doc["end_time"]),
        status=code,
    )


def read_spans(lines: Iterable[str], trace_id: str) -> list[SpanLine]:
    """The spans of ``trace_id`` (32 hex digits) among JSON lines; bad lines are skipped."""
    wanted = _hex(trace_id)
    spans: list[SpanLine] = []
    for line in lines:
        if wanted not in line:  # cheap: most lines of a long run are other traces
            continue
        try:
            doc = json.loads(line)
            if "context" in doc:
                if _hex(doc["context"]["trace_id"]) == wanted:
                    spans.append(_sdk_json(doc))
            elif _hex(doc["trace_id"]) == wanted:
                spans.append(_compact(doc))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return spans


def read_trace(path: Path, trace_id: str) -> list[SpanLine]:
    """The spans of ``trace_id`` in the file at ``path`` (none when it does not exist)."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", errors="replace") as lines:
        return read_spans(lines, trace_id)


def in_tree_order(spans: list[SpanLine]) -> Iterator[tuple[int, SpanLine]]:
    """(depth, span) with every child right under its parent; a span whose parent is not in
    the file (an edge that exports elsewhere) is a root."""
    known = {s.span_id for s in spans}
    children: dict[str | None, list[SpanLine]] = {}
    for s in spans:
        parent = s.parent_id if s.parent_id in known else None
        children.setdefault(parent, []).append(s)

    def walk(parent: str | None, depth: int) -> Iterator[tuple[int, SpanLine]]:
        for child in sorted(children.get(parent, []), key=lambda s: s.start):
            yield depth, child
            yield from walk(child.span_id, depth + 1)

    return walk(None, 0)


def waterfall(spans: list[SpanLine]) -> list[str]:
    """The trace as text lines: service, span, start offset, duration, status."""
    if not spans:
        return []
    origin = min(s.start for s in spans)
    ordered = list(in_tree_order(spans))
    width = max(len("  " * depth + s.name) for depth, s in ordered)
    service_width = max(len(s.service) for s in spans)
    lines = []
    for depth, s in ordered:
        offset_ms = (s.start - origin).total_seconds() * 1000
        name = ("  " * depth + s.name).ljust(width)
        lines.append(
            f"{s.service.ljust(service_width)}  {name}  +{offset_ms:9.1f} ms"
            f"  {s.seconds * 1000:9.1f} ms  {s.status}"
        )
    return lines
