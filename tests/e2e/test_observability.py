"""Observability over the real processes: one message makes one trace across conversation_svc,
the worker, prompt_svc, image_svc and the Media upload; its metrics move as documented; and a
real Prometheus, running the committed scrape config pointed at this stack, answers PromQL."""

from __future__ import annotations

import asyncio
import io
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from devstack.prometheus import find_prometheus, running_prometheus
from devstack.running import RunningStack
from mesh.auth import mint_token
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc as rpc
from photofun_cli.main import run as photofun
from photofun_cli.trace import read_trace
from tests.e2e.stacks import shared_stack

pytestmark = pytest.mark.asyncio(loop_scope="module")
CLIO = "2019 Renault Clio blue hatchback, front side rear"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    """Every sample of a /metrics page, by name and labels."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


@dataclass
class Sent:
    message: pb.Message  # as it ended
    trace_id: str  # the one our "page" started
    token: str
    before: dict[str, Samples]
    after: dict[str, Samples]


# Shared (tests/e2e/stacks.py): the metrics are compared before and after this module's one
# message, on a stack the modules before it have left idle.
stack = shared_stack("plain")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sent(stack: RunningStack) -> Sent:
    """One GENERATE_ANGLES message sent with a W3C traceparent, as the page sends it."""
    ports = stack.ports.metrics()
    before = {name: scrape(port) for name, port in ports.items()}
    token = mint_token(stack.env["JWT_SECRET"], "trace-user")
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    metadata = (("authorization", f"Bearer {token}"),)
    traced = (*metadata, ("traceparent", f"00-{trace_id}-{parent}-01"))
    async with grpc.aio.insecure_channel(stack.conversation) as channel:
        stub = rpc.ConversationServiceStub(channel)
        conversation = (
            await stub.CreateConversation(pb.CreateConversationRequest(), metadata=metadata)
        ).conversation
        message = (
            await stub.SendMessage(
                pb.SendMessageRequest(conversation_id=conversation.conversation_id, prompt=CLIO),
                metadata=traced,
            )
        ).message
        deadline = time.monotonic() + 60
        while message.status == pb.MESSAGE_STATUS_PROCESSING and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            message = (
                await stub.GetMessage(
                    pb.GetMessageRequest(message_id=message.message_id), metadata=metadata
                )
            ).message
    after = {name: scrape(port) for name, port in ports.items()}
    return Sent(message, trace_id, token, before, after)


async def spans_of(stack: RunningStack, trace_id: str, services: set[str]) -> list[str]:
    """Wait (exporters batch every 0.5 s) until every service wrote its spans of the trace."""
    path = stack.root / "traces.jsonl"
    deadline = time.monotonic() + 20
    while True:
        spans = read_trace(path, trace_id)
        if services <= {s.service for s in spans} or time.monotonic() > deadline:
            return [f"{s.service}:{s.name}" for s in spans]
        await asyncio.sleep(0.25)


async def test_one_message_is_one_trace_across_every_process(
    stack: RunningStack, sent: Sent
) -> None:
    assert sent.message.status == pb.MESSAGE_STATUS_DONE, sent.message.failure
    assert sent.message.trace_id == sent.trace_id  # the page's trace, kept on the message
    services = {"conversation_svc", "worker", "prompt_svc", "image_svc"}
    spans = await spans_of(stack, sent.trace_id, services)
    assert services <= {s.split(":")[0] for s in spans}
    for expected in (
        "conversation_svc:/photofun.v1.ConversationService/SendMessage",
        "conversation_svc:enqueue",
        "worker:run/photofun.process_message",
        "worker:analysis",
        "worker:/photofun.v1.PromptService/Refine",  # the client's span
        "prompt_svc:/photofun.v1.PromptService/Refine",  # the server's
        "worker:/photofun.v1.ImageService/GenerateAngles",
        "image_svc:/photofun.v1.ImageService/GenerateAngles",
        "worker:upload",
        "worker:POST",  # the Media Service upload (httpx)
    ):
        assert expected in spans, expected
    assert spans.count("image_svc:view") == 3
    assert spans.count("worker:upload") == 3
    # One tree: every span but SendMessage's (whose parent is the page's) has its parent here.
    lines = read_trace(stack.root / "traces.jsonl", sent.trace_id)
    ids = {s.span_id for s in lines}
    roots = [s.name for s in lines if s.parent_id not in ids]
    assert roots == ["/photofun.v1.ConversationService/SendMessage"]


async def test_photofun_trace_prints_the_waterfall(stack: RunningStack, sent: Sent) -> None:
    await spans_of(stack, sent.trace_id, {"conversation_svc", "worker", "image_svc"})
    out = io.StringIO()
    argv = [
        "trace",
        sent.message.message_id,
        "--traces",
        str(stack.root / "traces.jsonl"),
        "--server",
        stack.conversation,
        "--token",
        sent.token,
    ]
    status = await asyncio.to_thread(photofun, argv, out=Console(file=out, width=200))
    assert status == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == f"trace {sent.trace_id}"
    first = lines[1].split()
    assert first[:2] == ["conversation_svc", "/photofun.v1.ConversationService/SendMessage"]
    assert first[2:] == ["+", "0.0", "ms", *first[5:7], "OK"]
    assert any(line.split()[:2] == ["worker", "upload"] for line in lines)
    offsets = [float(line.split("+")[1].split()[0]) for line in lines[1:]]
    assert max(offsets) > 0


async def test_metrics_move_as_documented(sent: Sent) -> None:
    def moved(process: str, name: str, **labels: str) -> float:
        return total(sent.after[process], name, **labels) - total(
            sent.before[process], name, **labels
        )

    intent = {"intent": "generateAngles"}
    assert moved("worker", "photofun_messages_total", outcome="DONE", **intent) == 1
    assert moved("worker", "photofun_message_done_seconds_count", **intent) == 1
    assert moved("worker", "photofun_message_first_image_seconds_count", **intent) == 1
    assert moved("worker", "photofun_upstream_calls_total", upstream="MEDIA_SERVICE") == 3
    assert moved("worker", "photofun_upstream_calls_total", upstream="PROMPT_SERVICE") == 1
    send = {"grpc_method": "SendMessage", "grpc_code": "OK"}
    assert moved("conversation_svc", "photofun_rpc_server_handling_seconds_count", **send) == 1
    refine = {"grpc_method": "Refine", "grpc_code": "OK"}
    assert moved("prompt_svc", "photofun_rpc_server_handling_seconds_count", **refine) == 1
    assert moved("image_svc", "photofun_render_seconds_count") == 3
    assert moved("image_svc", "photofun_encode_seconds_count", format="png") == 3
    assert moved("image_svc", "photofun_upstream_calls_total", upstream="mock", outcome="OK") == 3
    assert total(sent.after["conversation_svc"], "photofun_queue_depth") == 0
    assert total(sent.after["image_svc"], "process_resident_memory_bytes") > 0
    assert total(sent.after["worker"], "photofun_worker_max_resident_memory_bytes") > 0


@pytest.fixture(scope="module")
def prometheus(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus running docker/observability/prometheus.yml (its alert rules
    included), its targets moved from compose's DNS names to this stack's ports."""
    if find_prometheus() is None:
        pytest.fail("prometheus is missing: apt-get install prometheus")
    with running_prometheus(tmp_path_factory.mktemp("prometheus"), stack.ports.metrics()) as url:
        yield url


async def test_prometheus_scrapes_the_stack_and_counts_the_message(
    sent: Sent, prometheus: str
) -> None:
    assert sent.message.status == pb.MESSAGE_STATUS_DONE

    async def query(expr: str) -> list[dict[str, object]]:
        async with httpx.AsyncClient() as client:
            reply = await client.get(f"{prometheus}/api/v1/query", params={"query": expr})
        reply.raise_for_status()
        result: list[dict[str, object]] = reply.json()["data"]["result"]
        return result

    deadline = time.monotonic() + 30
    count: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        count = await query('sum(photofun_messages_total{outcome="DONE"})')
        if count:
            break
        await asyncio.sleep(0.5)
    assert count, "Prometheus never saw photofun_messages_total"
    value = count[0]["value"]
    assert isinstance(value, list)
    assert float(value[1]) >= 1
    # Every process is a target that answers (each is scraped within a few intervals).
    jobs: dict[str, str] = {}
    while time.monotonic() < deadline + 30 and len(jobs) < 4:
        jobs = {r["metric"]["job"]: r["value"][1] for r in await query("up")}  # type: ignore[index]
        await asyncio.sleep(0.5)
    assert jobs == {"prompt_svc": "1", "image_svc": "1", "conversation_svc": "1", "worker": "1"}
