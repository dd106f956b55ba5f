"""Benchmark: what tracing and metrics cost, on the embedded stack (real processes, free ports).

First the span file export alone: one batch of gRPC server spans written by the SDK's
ConsoleSpanExporter in OpenTelemetry's JSON (what the stack used to write) and by
``mesh.tracing.JsonLinesSpanExporter`` (what it writes now), in CPU microseconds per span.

Then the same load on stacks with telemetry on (spans to the JSON-lines file, every /metrics
endpoint served, the worker in prometheus-client's multiprocess mode) and off
(``TELEMETRY=false``): messages per second to DONE, SendMessage latency and the CPU all the
stack's processes spent per message, for each, and the on/off ratios of each round. On a
machine others share, throughput swings with their load; CPU per message much less so. Each
round runs one stack of each, in the order off-on, then on-off in the next round (ABBA), so a
machine that slows down during the run favours neither side; the figures are the medians of
the rounds' ratios. This load is CPU-bound (mock images at full speed), the worst case for
telemetry; the budget (under 5 % of throughput) is set on the conversation benchmark's load and
measured there (bench/conversation.py, its telemetry section).

    python bench/telemetry.py [--messages 24] [--users 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import psutil

from devstack.running import RunningStack, running_stack
from mesh.auth import mint_token
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc as rpc

CLIO = "2019 Renault Clio blue hatchback, front side rear"
SECRET = secrets.token_hex(32)


@dataclass(frozen=True)
class Run:
    """One stack's figures."""

    telemetry: bool
    per_second: float
    send_p50_ms: float
    done_p50_s: float
    cpu_ms_per_message: float  # CPU of every process of the stack, over the load


def stack_cpu(stack: RunningStack) -> dict[int, float]:
    """CPU seconds (user and system) so far of each process of the stack, children included
    (image_svc's render workers), by process id."""
    used: dict[int, float] = {}
    for child in stack.children.values():
        if child.process is None:
            continue
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(child.process.pid)
            for process in (root, *root.children(recursive=True)):
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    used[process.pid] = times.user + times.system
    return used


def meta(user: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {mint_token(SECRET, user)}"),)


async def one(stub: rpc.ConversationServiceAsyncStub, user: str) -> tuple[float, float]:
    """Send one message and follow it to DONE; (SendMessage seconds, seconds to DONE)."""
    conversation = (
        await stub.CreateConversation(pb.CreateConversationRequest(), metadata=meta(user))
    ).conversation.conversation_id
    started = time.perf_counter()
    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation, prompt=CLIO), metadata=meta(user)
    )
    send = time.perf_counter() - started
    last = None
    async for event in stub.WatchMessage(
        pb.WatchMessageRequest(message_id=sent.message.message_id), metadata=meta(user)
    ):
        last = event.message
    assert last is not None
    assert last.status == pb.MESSAGE_STATUS_DONE, last
    return send, time.perf_counter() - started


async def measure(telemetry: bool, messages: int, users: int) -> Run:
    env = {
        "JWT_SECRET": SECRET,
        "TELEMETRY": "true" if telemetry else "false",
        "IMAGE_SVC_MOCK_LATENCY": "0",
    }
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as root:
        async with (
            running_stack(Path(root), env) as stack,
            grpc.aio.insecure_channel(stack.conversation) as channel,
        ):
            stub = rpc.ConversationServiceStub(channel)
            await asyncio.gather(*(one(stub, f"warm-{u}") for u in range(users)))
            samples: list[tuple[float, float]] = []

            async def user(index: int) -> None:
                for n in range(index, messages, users):
                    samples.append(await one(stub, f"user-{index}-{n}"))

            cpu_before = stack_cpu(stack)
            started = time.perf_counter()
            await asyncio.gather(*(user(u) for u in range(users)))
            elapsed = time.perf_counter() - started
            cpu_after = stack_cpu(stack)
    cpu = sum(t - cpu_before.get(pid, 0.0) for pid, t in cpu_after.items())
    return Run(
        telemetry=telemetry,
        per_second=len(samples) / elapsed,
        send_p50_ms=statistics.median(s for s, _ in samples) * 1000,
        done_p50_s=statistics.median(d for _, d in samples),
        cpu_ms_per_message=cpu / len(samples) * 1000,
    )


def export_cost(spans: int = 512, repeat: int = 5) -> str:
    """CPU microseconds per span of exporting one batch to a file, old format and new."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        ConsoleSpanExporter,
        SimpleSpanProcessor,
        SpanExporter,
    )
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from mesh.tracing import JsonLinesSpanExporter

    kept = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "conversation_svc"}))
    provider.add_span_processor(SimpleSpanProcessor(kept))
    tracer = provider.get_tracer("bench")
    attributes = {"rpc.system": "grpc", "rpc.service": "photofun.v1.ConversationService"}
    for _ in range(spans):
        with tracer.start_as_current_span("/photofun.v1.ConversationService/SendMessage") as s:
            s.set_attributes({**attributes, "rpc.method": "SendMessage"})
    batch = kept.get_finished_spans()
    lines = ["span file export (one batch of 512 spans)   CPU per span"]
    with (
        tempfile.TemporaryDirectory(prefix="bench-export-") as folder,
        (Path(folder) / "sdk.jsonl").open("a", buffering=1) as out,
    ):
        exporters: list[tuple[str, SpanExporter]] = [
            (
                "SDK ConsoleSpanExporter, to_json (before)",
                ConsoleSpanExporter(out=out, formatter=lambda s: s.to_json(indent=None) + "\n"),
            ),
            (
                "JsonLinesSpanExporter (now)",
                JsonLinesSpanExporter(Path(folder) / "lines.jsonl", "conversation_svc"),
            ),
        ]
        for name, exporter in exporters:
            best = float("inf")
            for _ in range(repeat):
                started = time.process_time()
                exporter.export(batch)
                best = min(best, time.process_time() - started)
            exporter.shutdown()
            lines.append(f"{name:<44}{best / len(batch) * 1e6:8.1f} µs")
    return "\n".join(lines)


def table(rounds: list[tuple[Run, Run]], users: int) -> str:
    """One line per stack, in the order they ran, with each round's on/off ratios: of
    throughput, and of the stack's CPU per message (which a busy machine disturbs less)."""
    ratios = [on.per_second / off.per_second for off, on in rounds]
    cpu_ratios = [on.cpu_ms_per_message / off.cpu_ms_per_message for off, on in rounds]
    lines = [
        f"round  telemetry  msgs/s to DONE ({users} users)  SendMessage p50  DONE p50"
        "  CPU/message   on/off: msgs/s  CPU",
    ]
    for number, (off, on) in enumerate(rounds, 1):
        first, second = (off, on) if number % 2 else (on, off)  # the order they ran
        for run in (first, second):
            pair = (
                f"   {ratios[number - 1]:14.3f}  {cpu_ratios[number - 1]:.3f}"
                if run is second
                else ""
            )
            lines.append(
                f"{number:5d}  {'on ' if run.telemetry else 'off'}        {run.per_second:8.2f}"
                f"                 {run.send_p50_ms:8.1f} ms  {run.done_p50_s:6.2f} s"
                f"  {run.cpu_ms_per_message:8.0f} ms{pair}"
            )
    ratio, cpu_ratio = statistics.median(ratios), statistics.median(cpu_ratios)
    cost = 1 - ratio
    lines += [
        f"median throughput ratio on/off {ratio:.3f}: telemetry costs {cost:+.1%} of "
        "throughput when the CPU is the bottleneck",
        f"median CPU per message on/off {cpu_ratio:.3f}: telemetry adds {cpu_ratio - 1:+.1%} "
        "of the stack's CPU",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=24)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of one stack each, off-on then on-off"
    )
    args = parser.parse_args()
    print(export_cost(), flush=True)
    print()
    rounds: list[tuple[Run, Run]] = []
    for number in range(1, args.rounds + 1):
        order = (False, True) if number % 2 else (True, False)  # ABBA: drift cancels out
        runs = {t: asyncio.run(measure(t, args.messages, args.users)) for t in order}
        rounds.append((runs[False], runs[True]))
    print(table(rounds, args.users))
    return 0


if __name__ == "__main__":
    sys.exit(main())
