"""Benchmark: UploadImage on the embedded stack (real processes, free ports, the Media stand-in).

- latency p50 / p99 of what the web page sends (a 2048 × 1536 JPEG it scaled down, no EXIF),
  and of a phone photo of that size with EXIF and orientation 6 (turned upright on the way);
- the worst case the limits allow — a 25-megapixel RGBA PNG that fits in 3 MiB — sent by 16
  callers at once: time for all, and conversation_svc's peak memory (VmHWM) above what it held
  before. Each such picture takes ~100 MB decoded; at most two decode at a time per process, so
  the peak stays near two pictures' worth however many callers there are.

    python bench/uploads.py [--uploads 20] [--callers 16]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
from PIL import ExifTags, Image

from conversation_svc.settings import Settings
from devstack.running import running_stack
from mesh.auth import mint_token
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc as rpc

# The stack is started with this secret (JWT_SECRET when set, else one for this run).
SECRET = Settings().jwt_secret.get_secret_value() or secrets.token_hex(32)
META = (("authorization", f"Bearer {mint_token(SECRET, 'bench')}"),)
MiB = 1024 * 1024


def page_jpeg(exif: Image.Exif | None = None) -> bytes:
    """A 2048 × 1536 photo-like picture (smooth shading and grain), as the page sends it."""
    base = Image.radial_gradient("L").resize((2048, 1536)).convert("RGB")
    grain = Image.effect_noise((2048, 1536), 12).convert("RGB")
    picture = Image.blend(base, grain, 0.25)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def worst_png() -> bytes:
    """25 megapixels of RGBA that compress to well under 3 MiB."""
    picture = Image.linear_gradient("L").resize((5000, 5000)).convert("RGBA")
    out = io.BytesIO()
    picture.save(out, "PNG")
    data = out.getvalue()
    assert len(data) <= 3 * MiB, len(data)
    return data


def peak_rss(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in bytes, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


async def latencies(stub: rpc.ConversationServiceAsyncStub, data: bytes, count: int) -> list[float]:
    samples = []
    for i in range(count):
        started = time.perf_counter()
        await stub.UploadImage(pb.UploadImageRequest(data=data, filename=f"{i}.jpg"), metadata=META)
        samples.append(time.perf_counter() - started)
    return samples


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def run(uploads: int, callers: int) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (48.0, 51.0, 24.0)}
    page, phone, worst = page_jpeg(), page_jpeg(exif), worst_png()
    env = {
        "LOG_LEVEL": "WARNING",
        "CONVERSATION_SVC_MAX_UPLOADS_PER_HOUR": "100000",
        "JWT_SECRET": SECRET,
    }
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            running_stack(Path(tmp), env) as stack,
            grpc.aio.insecure_channel(
                stack.conversation, options=[("grpc.max_send_message_length", 8 * MiB)]
            ) as channel,
        ):
            stub = rpc.ConversationServiceStub(channel)
            process = stack.children["conversation_svc"].process
            assert process is not None
            await latencies(stub, page, 2)  # warm: connections, Pillow's codecs
            page_times = await latencies(stub, page, uploads)
            phone_times = await latencies(stub, phone, uploads)
            before, _ = peak_rss(process.pid)
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    stub.UploadImage(
                        pb.UploadImageRequest(data=worst, filename=f"w{i}.png"), metadata=META
                    )
                    for i in range(callers)
                )
            )
            worst_time = time.perf_counter() - started
            _, high = peak_rss(process.pid)
    print("\nUploadImage on the embedded stack (real gRPC, Media stand-in over HTTP)\n")
    print(f"{'workload':<60} {'p50':>9} {'p99':>9}")
    for name, size, times in (
        ("page upload, 2048×1536 JPEG", len(page), page_times),
        ("phone photo, same, EXIF, orientation 6", len(phone), phone_times),
    ):
        label = f"{name} ({size / MiB:.1f} MiB)"
        print(f"{label:<60} {statistics.median(times) * 1000:>7.0f}ms {p99(times) * 1000:>7.0f}ms")
    print()
    print(f"worst case: 25 MP RGBA PNG, {len(worst) // 1024} KiB")
    print(f"{f'  {callers} callers at once, all answered in':<60} {worst_time:>8.1f}s")
    print(f"{'  conversation_svc peak memory above before':<60} {(high - before) / MiB:>7.0f}MB")
    print(f"{'  (one such picture decoded: 25 MP × 4 bytes)':<60} {25e6 * 4 / MiB:>7.0f}MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--callers", type=int, default=16)
    args = parser.parse_args(argv)
    asyncio.run(run(args.uploads, args.callers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
