"""Benchmark: N angles take about one image's time, and the first arrives after about one.

Runs a real image_svc (process render pool) on a free port with an artificial mock latency L
per image and measures, for N = 3 and N = 8 angles:
- sequential: N one-angle calls one after another (what the seed document started from);
- parallel: one GenerateAngles call with N angles (completion-order streaming);
- first: time until the first view of the parallel call arrived.
Targets: parallel ≤ 1.15 L, first ≤ 1.1 L (the measured numbers are in docs/image-service.md).
Then the renderer's throughput per format at 1024×1024 on one core.

    python bench/angles.py [--latency 1.0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import sys
import time

import grpc

from image_svc import app
from image_svc.encoding import encode
from image_svc.render import RenderSubject, render
from image_svc.settings import Settings
from mesh.access import add_metadata, bearer
from mesh.auth import mint_token
from mesh.logs import configure_logging
from mesh.server import GrpcServer
from photofun.v1 import common_pb2, image_service_pb2, image_service_pb2_grpc

CLIO = common_pb2.Subject(
    brand="Renault", model="Clio", year=2019, color="blue", body_type="hatchback"
)
ANGLES = [a for a in common_pb2.Angle.values() if a != common_pb2.ANGLE_UNSPECIFIED]


async def one_call(
    stub: image_service_pb2_grpc.ImageServiceAsyncStub, angles: list[common_pb2.Angle.ValueType]
) -> tuple[float, float]:
    """(time to first view, total time) of one GenerateAngles call."""
    request = image_service_pb2.GenerateAnglesRequest(subject=CLIO, angles=angles)
    started = time.perf_counter()
    first = 0.0
    async for view in stub.GenerateAngles(request):
        assert view.WhichOneof("result") == "image", view.error
        first = first or time.perf_counter() - started
    return first, time.perf_counter() - started


async def measure(latency: float, repeat: int) -> list[tuple[int, float, float, float]]:
    rows = []
    async with contextlib.AsyncExitStack() as stack:
        secret = secrets.token_hex(32)  # the server verifies user tokens (mesh.access)
        settings = Settings(
            port=0, mock_latency=latency, max_concurrency=8, log_level="WARNING", jwt_secret=secret
        )
        server = GrpcServer(await app.build(settings, stack), settings)
        await server.start()
        channel = grpc.aio.insecure_channel(
            server.address,
            options=[("grpc.max_receive_message_length", 64 << 20)],
            interceptors=add_metadata(bearer(mint_token(secret, "bench"))),
        )
        stub = image_service_pb2_grpc.ImageServiceStub(channel)
        await one_call(stub, ANGLES[:1])  # warm-up: pool, imports, caches
        for n in (3, 8):
            angles = ANGLES[:n]
            seq, par, first = [], [], []
            for _ in range(repeat):
                started = time.perf_counter()
                for angle in angles:
                    await one_call(stub, [angle])
                seq.append(time.perf_counter() - started)
                f, total = await one_call(stub, angles)
                par.append(total)
                first.append(f)
            rows.append(
                (n, statistics.median(seq), statistics.median(par), statistics.median(first))
            )
        await channel.close()
        await server.stop(0)
    return rows


def renderer_throughput(seconds: float = 2.0) -> list[tuple[str, float, int]]:
    """Images per second on this core per format at 1024×1024, and the typical size."""
    subject = RenderSubject(
        brand="Renault", model="Clio", year=2019, color="blue", body_type="hatchback"
    )
    out = []
    for fmt in ("png", "jpeg", "webp"):
        count, size, started = 0, 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            image = render(
                subject,
                azimuth=45 * count % 360,
                elevation=5,
                session_id="bench",
                seed=count,
                width=1024,
                height=1024,
            )
            size = len(encode(image, fmt))
            count += 1
        out.append((fmt, count / (time.perf_counter() - started), size))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--latency", type=float, default=1.0, help="mock latency L per image, seconds"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    latency = args.latency
    configure_logging("WARNING")
    rows = asyncio.run(measure(latency, args.repeat))
    print(f"\nGenerateAngles, mock latency L = {latency:.2f} s (median of {args.repeat})\n")
    head = ("N", "sequential", "parallel", "first", "par/L", "first/L", "speed-up")
    print("{:>3} {:>11} {:>9} {:>7} {:>6} {:>8} {:>9}  target".format(*head))
    ok = True
    for n, seq, par, first in rows:
        met = par <= 1.15 * latency and first <= 1.1 * latency
        ok &= met
        print(
            f"{n:>3} {seq:>10.2f}s {par:>8.2f}s {first:>6.2f}s {par / latency:>6.2f} "
            f"{first / latency:>8.2f} {seq / par:>8.1f}x  {'met' if met else 'MISSED'} "
            "(par ≤ 1.15 L, first ≤ 1.1 L)"
        )
    print("\nRenderer, one core, 1024×1024 (draw + encode)\n")
    print(f"{'format':>6} {'images/s':>9} {'bytes':>9}")
    for fmt, rate, size in renderer_throughput():
        print(f"{fmt:>6} {rate:>9.1f} {size:>9}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
