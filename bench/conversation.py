"""Benchmark: the conversation path on the embedded stack (real processes, free ports).

- SendMessage latency (p50 / p99): it stores and queues, never waits for a model;
- with the mock taking ``--latency`` seconds per view (1 s, as a real model does): 1, 4, 16
  and 64 users at once (64 twice, so memory that grows with the messages served shows), each
  sending 3-view messages one after another: messages per second to DONE, time to DONE
  p50 / p99, and how many failed;
- the same with 8-view messages (16 users);
- resident memory of the worker, conversation_svc, image_svc and the database after each
  load, and peak RSS and CPU seconds of every process of the stack;
- what tracing and metrics cost this load: 16 users on fresh stacks with telemetry on and off
  (``TELEMETRY=false``), in pairs ordered off-on then on-off (ABBA, so a machine that slows
  down during the run favours neither side); the budget is under 5 % of the throughput.

Targets (2 cores, default settings): 16 users' p50 at most 1.5 × a lone user's and at least
6 messages/s; 64 users without errors; telemetry costing under 5 % of the 16 users' messages/s.

    python bench/conversation.py [--messages 40] [--latency 1.0] [--rounds 3]
                                 [--pairs 4] [--pair-rounds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from conversation_svc.settings import Settings
from devstack.running import RunningStack, running_stack
from mesh.auth import mint_token
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc as rpc

COLORS = ("blue", "red", "green", "white", "black", "yellow", "orange", "grey")
THREE = "{year} Renault Clio {color} hatchback, front side rear"
EIGHT = (
    "{year} BMW X5 {color} suv: front, front three-quarter, side, rear three-quarter, rear, "
    "top, side right, front three-quarter right"
)
# The stack is started with this secret (JWT_SECRET when set, else one for this run).
SECRET = Settings().jwt_secret.get_secret_value() or secrets.token_hex(32)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def meta(user: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {mint_token(SECRET, user)}"),)


async def until_end(
    stub: rpc.ConversationServiceAsyncStub, user: str, message_id: str
) -> pb.Message:
    last = None
    async for event in stub.WatchMessage(
        pb.WatchMessageRequest(message_id=message_id), metadata=meta(user)
    ):
        last = event.message
    assert last is not None
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


@dataclass
class Load:
    """One run: how long each message took to DONE, and what went wrong."""

    users: int
    views: int
    seconds: float = 0.0
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.times) / self.seconds if self.seconds else 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


async def load(
    stub: rpc.ConversationServiceAsyncStub, users: int, per_user: int, template: str, views: int
) -> Load:
    """``users`` users at once, each sending ``per_user`` messages one after another."""
    out = Load(users, views)

    async def one_user(index: int) -> None:
        user = f"load-{views}-{users}-{index}-{secrets.token_hex(3)}"
        conv = await conversation(stub, user)
        for n in range(per_user):
            prompt = template.format(
                year=2000 + (index * 7 + n) % 25, color=COLORS[(index + n) % len(COLORS)]
            )
            started = time.perf_counter()
            try:
                reply = await stub.SendMessage(
                    pb.SendMessageRequest(conversation_id=conv, prompt=prompt),
                    metadata=meta(user),
                )
                done = await until_end(stub, user, reply.message.message_id)
            except grpc.aio.AioRpcError as exc:
                out.errors.append(f"{exc.code().name}: {exc.details()}")
                continue
            if done.status != pb.MESSAGE_STATUS_DONE or len(done.images) != views:
                reason = done.failure.reason or f"{len(done.images)} of {views} views"
                out.errors.append(f"{pb.MessageStatus.Name(done.status)} {reason}")
                continue
            out.times.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one_user(i) for i in range(users)))
    out.seconds = time.perf_counter() - started
    return out


def processes(stack: RunningStack) -> dict[str, list[int]]:
    """Each child's pid and its descendants' (the render pool of image_svc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    out = {}
    for name, child in stack.children.items():
        if child.process is None:
            continue
        tree, todo = [], [child.process.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(parents.get(pid, []))
        out[name] = tree
    return out


def resident(pids: list[int]) -> float:
    """Resident memory now (VmRSS) in MiB of the tree's processes together."""
    total = 0.0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


MEMORY_OF = ("celery worker", "conversation_svc", "image_svc", "mongodb (secantusdb)")


def usage(pids: list[int]) -> tuple[float, float]:
    """Peak RSS in MiB of the largest process of the tree, and CPU seconds of all of it."""
    peak, cpu = 0.0, 0.0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
        cpu += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return peak, cpu


TELEMETRY_BUDGET = 0.05


async def sixteen(latency: float, rounds: int, telemetry: bool) -> Load:
    """16 users on a fresh stack with telemetry on or off (after one warm-up message)."""
    env = {
        "IMAGE_SVC_MOCK_LATENCY": str(latency),
        "LOG_LEVEL": "WARNING",
        "JWT_SECRET": SECRET,
        "TELEMETRY": "true" if telemetry else "false",
    }
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            running_stack(Path(tmp), env) as stack,
            grpc.aio.insecure_channel(stack.conversation) as channel,
        ):
            stub = rpc.ConversationServiceStub(channel)
            await load(stub, 1, 1, THREE, 3)
            return await load(stub, 16, rounds, THREE, 3)


async def telemetry_cost(latency: float, rounds: int, pairs: int) -> None:
    """Pairs of stacks, off-on then on-off: each pair's on/off ratio of messages/s, and the
    median of those ratios against the budget."""
    print(f"\nTelemetry on and off, 16 users, {rounds} messages each, fresh stacks in ABBA pairs\n")
    print(f"{'pair':>4} {'telemetry':>9} {'msg/s':>7} {'p50 s':>7} {'errors':>6} {'on/off':>7}")
    ratios = []
    for number in range(1, pairs + 1):
        order = (False, True) if number % 2 else (True, False)
        runs = {t: await sixteen(latency, rounds, t) for t in order}
        ratios.append(runs[True].rate / runs[False].rate if runs[False].rate else float("nan"))
        for t in order:
            r = runs[t]
            p50 = statistics.median(r.times) if r.times else float("nan")
            pair = f" {ratios[-1]:>7.3f}" if t == order[1] else ""
            print(
                f"{number:>4} {'on' if t else 'off':>9} {r.rate:>7.2f} {p50:>7.2f} "
                f"{len(r.errors):>6}{pair}"
            )
    cost = 1 - statistics.median(ratios)
    verdict = "within" if cost < TELEMETRY_BUDGET else "OVER"
    print(
        f"median on/off {1 - cost:.3f}: telemetry costs {cost:+.1%} of the 16 users' "
        f"messages/s (budget {TELEMETRY_BUDGET:.0%}: {verdict})"
    )


async def run(messages: int, latency: float, rounds: int) -> None:
    env = {"IMAGE_SVC_MOCK_LATENCY": str(latency), "LOG_LEVEL": "WARNING", "JWT_SECRET": SECRET}
    runs: list[Load] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            running_stack(Path(tmp), env) as stack,
            grpc.aio.insecure_channel(stack.conversation) as channel,
        ):
            stub = rpc.ConversationServiceStub(channel)
            cold = (await send_latency(stub, 1))[0]  # first call: connections are opened
            latency_samples = await send_latency(stub, messages)
            await load(stub, 1, 1, THREE, 3)  # warm-up: the first views load fonts and codecs
            # The lone user's time is the reference of every ratio: at least five samples.
            runs.append(await load(stub, 1, max(rounds, 5), THREE, 3))
            memory: list[tuple[str, dict[str, float]]] = []

            def remember(after: str) -> None:
                trees = processes(stack)
                memory.append((after, {n: resident(trees.get(n, [])) for n in MEMORY_OF}))

            remember("1 user")
            for users in (4, 16, 64):
                runs.append(await load(stub, users, rounds, THREE, 3))
                remember(f"{users} users")
            # 64 users again: memory that grows with the messages served shows here.
            runs.append(await load(stub, 64, rounds, THREE, 3))
            remember("64 users, again")
            runs.append(await load(stub, 16, max(1, rounds - 1), EIGHT, 8))
            remember("16 users, 8 views")
            used = {name: usage(pids) for name, pids in processes(stack).items()}
    lone = statistics.median(runs[0].times) if runs[0].times else float("nan")
    print(f"\nConversation path on the embedded stack, mock {latency:g} s per view\n")
    print(f"SendMessage latency: cold {cold * 1000:.1f} ms, ", end="")
    print(
        f"p50 {statistics.median(latency_samples) * 1000:.1f} ms, "
        f"p99 {pct(latency_samples, 0.99) * 1000:.1f} ms ({messages} calls)\n"
    )
    header = f"{'users':>5} {'views':>5} {'msgs':>5} {'msg/s':>7} {'p50 s':>7} {'p99 s':>7}"
    print(f"{header} {'p50/lone':>8} {'errors':>6}")
    for r in runs:
        p50 = statistics.median(r.times) if r.times else float("nan")
        print(
            f"{r.users:>5} {r.views:>5} {len(r.times):>5} {r.rate:>7.2f} {p50:>7.2f} "
            f"{pct(r.times, 0.99):>7.2f} {p50 / lone:>8.2f} {len(r.errors):>6}"
        )
    for r in runs:
        for error in sorted(set(r.errors))[:3]:
            print(f"  {r.users} users, {r.views} views: {error}")
    print("\nResident memory (MiB, each process with its children) after each load")
    print(f"{'after':<18}" + "".join(f"{n.split()[0][:16]:>17}" for n in MEMORY_OF))
    for after, sizes in memory:
        print(f"{after:<18}" + "".join(f"{sizes[n]:>17.0f}" for n in MEMORY_OF))
    print(f"\n{'process':<44} {'peak RSS MiB':>12} {'CPU s':>8}")
    for name, (peak, cpu) in used.items():
        print(f"{name:<44} {peak:>12.0f} {cpu:>8.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=40, help="SendMessage latency samples")
    parser.add_argument("--latency", type=float, default=1.0, help="mock seconds per view")
    parser.add_argument("--rounds", type=int, default=3, help="messages each user sends in turn")
    parser.add_argument(
        "--pairs", type=int, default=4, help="ABBA pairs of the telemetry on/off run (0: none)"
    )
    parser.add_argument(
        "--pair-rounds", type=int, default=8, help="messages each user sends in a pair's stacks"
    )
    args = parser.parse_args(argv)
    asyncio.run(run(args.messages, args.latency, args.rounds))
    if args.pairs:
        asyncio.run(telemetry_cost(args.latency, args.pair_rounds, args.pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
