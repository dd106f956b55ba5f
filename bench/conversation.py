"""Benchmark: the conversation path on the embedded stack (real processes, free ports).

- SendMessage latency (p50 / p99): it stores and queues, never waits for a model;
- end-to-end time to DONE for the 3-angle Clio message with zero mock latency;
- messages per second to DONE with 1, 4 and 16 concurrent users.

    python bench/conversation.py [--messages 40]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc

from conversation_svc.settings import Settings
from devstack.running import running_stack
from mesh.auth import mint_token
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc as rpc

CLIO = "2019 Renault Clio blue hatchback, front side rear"
# The stack is started with this secret (JWT_SECRET when set, else one for this run).
SECRET = Settings().jwt_secret.get_secret_value() or secrets.token_hex(32)


def meta(user: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {mint_token(SECRET, user)}"),)


async def until_done(
    stub: rpc.ConversationServiceAsyncStub, user: str, message_id: str
) -> pb.Message:
    last = None
    async for event in stub.WatchMessage(
        pb.WatchMessageRequest(message_id=message_id), metadata=meta(user)
    ):
        last = event.message
    assert last is not None
    assert last.status == pb.MESSAGE_STATUS_DONE, last
    return last


async def conversation(stub: rpc.ConversationServiceAsyncStub, user: str) -> str:
    reply = await stub.CreateConversation(pb.CreateConversationRequest(), metadata=meta(user))
    return reply.conversation.conversation_id


async def send_latency(stub: rpc.ConversationServiceAsyncStub, count: int) -> list[float]:
    """Each message from its own user (the per-user PROCESSING cap stays out of the way)."""
    samples = []
    for i in range(count):
        user = f"latency-{i}"
        conv = await conversation(stub, user)
        started = time.perf_counter()
        await stub.SendMessage(
            pb.SendMessageRequest(conversation_id=conv, prompt="hello!"), metadata=meta(user)
        )
        samples.append(time.perf_counter() - started)
    return samples


async def throughput(stub: rpc.ConversationServiceAsyncStub, users: int, per_user: int) -> float:
    """Messages to DONE per second with ``users`` users each sending ``per_user`` in turn."""

    async def one_user(index: int) -> None:
        user = f"load-{users}-{index}"
        conv = await conversation(stub, user)
        for n in range(per_user):
            reply = await stub.SendMessage(
                pb.SendMessageRequest(
                    conversation_id=conv, prompt=f"a lighthouse at dusk, take {n}"
                ),
                metadata=meta(user),
            )
            await until_done(stub, user, reply.message.message_id)

    started = time.perf_counter()
    await asyncio.gather(*(one_user(i) for i in range(users)))
    return users * per_user / (time.perf_counter() - started)


async def run(messages: int) -> None:
    env = {"IMAGE_SVC_MOCK_LATENCY": "0", "LOG_LEVEL": "WARNING", "JWT_SECRET": SECRET}
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            running_stack(Path(tmp), env) as stack,
            grpc.aio.insecure_channel(stack.conversation) as channel,
        ):
            stub = rpc.ConversationServiceStub(channel)
            cold = (await send_latency(stub, 1))[0]  # first call: connections are opened
            latency = await send_latency(stub, messages)
            e2e = []
            for _ in range(5):
                user = "e2e"
                conv = await conversation(stub, user)
                started = time.perf_counter()
                reply = await stub.SendMessage(
                    pb.SendMessageRequest(conversation_id=conv, prompt=CLIO),
                    metadata=meta(user),
                )
                done = await until_done(stub, user, reply.message.message_id)
                assert len(done.images) == 3
                e2e.append(time.perf_counter() - started)
            rates = {n: await throughput(stub, n, max(1, messages // n // 2)) for n in (1, 4, 16)}
    p = sorted(latency)
    print("\nConversation path on the embedded stack (2 worker processes)\n")
    print(f"{'measure':<44} {'value':>10}")
    print(f"{'SendMessage latency, first call (cold)':<44} {cold * 1000:>8.1f}ms")
    print(f"{'SendMessage latency p50':<44} {statistics.median(p) * 1000:>8.1f}ms")
    print(
        f"{'SendMessage latency p99':<44} {p[min(len(p) - 1, int(len(p) * 0.99))] * 1000:>8.1f}ms"
    )
    print(f"{'time to DONE, 3 angles, zero mock latency':<44} {statistics.median(e2e):>9.2f}s")
    for users, rate in rates.items():
        print(f"{f'messages/s to DONE, {users} concurrent users':<44} {rate:>10.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=40)
    args = parser.parse_args(argv)
    asyncio.run(run(args.messages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
