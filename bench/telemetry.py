"""Benchmark: what tracing and metrics cost, on the embedded stack (real processes, free ports).

The same load runs on two stacks, one with telemetry on (spans to the JSON-lines file, every
/metrics endpoint served, the worker in prometheus-client's multiprocess mode) and one with
``TELEMETRY=false``; the table shows messages per second to DONE and SendMessage latency for
both, and the cost. The budget is 5 % of throughput. Runs alternate off, on, off, on … and the
cost compares the medians, so a machine that slows down during the run favours neither side.

    python bench/telemetry.py [--messages 24] [--users 4]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from devstack.running import running_stack
from mesh.auth import mint_token
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc as rpc

CLIO = "2019 Renault Clio blue hatchback, front side rear"
SECRET = secrets.token_hex(32)
BUDGET = 0.05


@dataclass(frozen=True)
class Run:
    """One stack's figures."""

    telemetry: bool
    per_second: float
    send_p50_ms: float
    done_p50_s: float


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

            started = time.perf_counter()
            await asyncio.gather(*(user(u) for u in range(users)))
            elapsed = time.perf_counter() - started
    return Run(
        telemetry=telemetry,
        per_second=len(samples) / elapsed,
        send_p50_ms=statistics.median(s for s, _ in samples) * 1000,
        done_p50_s=statistics.median(d for _, d in samples),
    )


def table(runs: list[Run], users: int) -> str:
    on = statistics.median(r.per_second for r in runs if r.telemetry)
    off = statistics.median(r.per_second for r in runs if not r.telemetry)
    cost = 1 - on / off
    lines = [
        f"telemetry   messages/s to DONE ({users} users)   SendMessage p50   DONE p50",
        *(
            f"{'on ' if r.telemetry else 'off'}         {r.per_second:10.2f}"
            f"                       {r.send_p50_ms:8.1f} ms   {r.done_p50_s:6.2f} s"
            for r in runs
        ),
        f"median messages/s: off {off:.2f}, on {on:.2f}; cost of telemetry: {cost:+.1%} of "
        f"throughput (budget {BUDGET:.0%}: {'within' if cost < BUDGET else 'OVER'})",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=24)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument(
        "--rounds", type=int, default=2, help="off/on pairs, alternating (drift cancels out)"
    )
    args = parser.parse_args()
    order = [r % 2 == 1 for r in range(2 * args.rounds)]  # off, on, off, on ...
    runs = [asyncio.run(measure(telemetry, args.messages, args.users)) for telemetry in order]
    print(table(runs, args.users))
    return 0


if __name__ == "__main__":
    sys.exit(main())
