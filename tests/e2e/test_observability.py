"""Observability over the real processes: one message, sent through Envoy as the page sends it,
makes one trace across the edge, conversation_svc, the worker, prompt_svc, image_svc and the
Media upload; its metrics move as documented; and a real Prometheus, running the committed
scrape config pointed at this stack, answers PromQL."""

from __future__ import annotations

import asyncio
import io
import json
import math
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

from devstack.prometheus import OBSERVABILITY, find_prometheus, running_prometheus
from devstack.running import RunningStack
from mesh.auth import mint_token
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc as rpc
from photofun_cli.main import run as photofun
from photofun_cli.trace import read_trace
from tests.e2e.stacks import own_stack

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


# Its own stack: Envoy as the edge (with the OTLP receiver that writes Envoy's spans), and the
# dashboard test stops the Media stand-in to get a FAILED message.
stack = own_stack(
    {
        "IMAGE_SVC_RENDER_WORKERS": "1",
        "CONVERSATION_SVC_IMAGE_TIMEOUT": "30",
        # The dashboard test's failing message (Media Service down) fails after 2 s of retries.
        "CONVERSATION_SVC_RETRY_BUDGET": "2",
    },
    edge="envoy",
)


async def send_as_the_page(
    stack: RunningStack, token: str, conversation_id: str, traceparent: str
) -> pb.Message:
    """SendMessage as web/src/api.ts sends it: binary gRPC-web to Envoy from the page's origin,
    with the bearer token and a sampled W3C ``traceparent``."""
    body = pb.SendMessageRequest(conversation_id=conversation_id, prompt=CLIO).SerializeToString()
    headers = {
        "content-type": "application/grpc-web+proto",
        "x-grpc-web": "1",
        "origin": f"http://localhost:{stack.ports.web}",
        "authorization": f"Bearer {token}",
        "traceparent": traceparent,
    }
    async with httpx.AsyncClient(timeout=30) as client:
        reply = await client.post(
            f"{stack.env['GRPC_WEB_URL']}/photofun.v1.ConversationService/SendMessage",
            content=b"\x00" + len(body).to_bytes(4, "big") + body,
            headers=headers,
        )
    assert reply.status_code == 200, reply.text
    assert reply.content[:1] == b"\x00", reply.headers  # a message frame, not an error
    size = int.from_bytes(reply.content[1:5], "big")
    return pb.SendMessageResponse.FromString(reply.content[5 : 5 + size]).message


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sent(stack: RunningStack) -> Sent:
    """One GENERATE_ANGLES message sent through Envoy with a W3C traceparent, as the page
    sends it."""
    ports = stack.ports.metrics()
    before = {name: scrape(port) for name, port in ports.items()}
    token = mint_token(stack.env["JWT_SECRET"], "trace-user")
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(stack.conversation) as channel:
        stub = rpc.ConversationServiceStub(channel)
        conversation = (
            await stub.CreateConversation(pb.CreateConversationRequest(), metadata=metadata)
        ).conversation
        message = await send_as_the_page(
            stack, token, conversation.conversation_id, f"00-{trace_id}-{parent}-01"
        )
        message = await until_ended(stub, message, metadata)
    # The views' stream reports its status to the worker just after the write that ended the
    # message DONE: scrape until the worker has counted it (a few milliseconds).
    angles = {"grpc_method": "GenerateAngles"}
    client_calls, deadline = "photofun_rpc_client_handling_seconds_count", time.monotonic() + 5
    while True:
        after = {name: scrape(port) for name, port in ports.items()}
        counted = total(after["worker"], client_calls, **angles)
        if counted > total(before["worker"], client_calls, **angles):
            break
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
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
    services = {"envoy", "conversation_svc", "worker", "prompt_svc", "image_svc"}
    spans = await spans_of(stack, sent.trace_id, services)
    assert services <= {s.split(":")[0] for s in spans}
    assert [s for s in spans if s.startswith("envoy:")] == ["envoy:ingress"]  # one call, one span
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
        "worker:POST",  # the Media Service upload (aiohttp's client)
    ):
        assert expected in spans, expected
    assert spans.count("image_svc:view") == 3
    assert spans.count("worker:upload") == 3
    # One tree: every span but Envoy's (whose parent is the page's) has its parent here, and
    # conversation_svc's server span is the child of Envoy's.
    lines = read_trace(stack.root / "traces.jsonl", sent.trace_id)
    by_id = {s.span_id: s for s in lines}
    roots = [f"{s.service}:{s.name}" for s in lines if s.parent_id not in by_id]
    assert roots == ["envoy:ingress"]
    (send,) = [s for s in lines if s.name == "/photofun.v1.ConversationService/SendMessage"]
    assert send.parent_id is not None
    assert by_id[send.parent_id].service == "envoy"


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
    edge, send = lines[1].split(), lines[2].split()
    assert edge[:2] == ["envoy", "ingress"]  # the edge's span first, SendMessage's under it
    assert edge[2:] == ["+", "0.0", "ms", *edge[5:7], "OK"]
    assert send[:2] == ["conversation_svc", "/photofun.v1.ConversationService/SendMessage"]
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
    # The worker's side of the same calls: one Refine, one stream of the three views.
    assert moved("worker", "photofun_rpc_client_handling_seconds_count", **refine) == 1
    angles = {"grpc_service": "photofun.v1.ImageService", "grpc_method": "GenerateAngles"}
    assert moved("worker", "photofun_rpc_client_handling_seconds_count", **angles) == 1
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


async def until_ended(
    stub: rpc.ConversationServiceAsyncStub,
    message: pb.Message,
    metadata: tuple[tuple[str, str], ...],
) -> pb.Message:
    """The message once it left PROCESSING (or as it was after a minute)."""
    deadline = time.monotonic() + 60
    while message.status == pb.MESSAGE_STATUS_PROCESSING and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        request = pb.GetMessageRequest(message_id=message.message_id)
        message = (await stub.GetMessage(request, metadata=metadata)).message
    return message


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def watched(stack: RunningStack, sent: Sent, prometheus: str) -> str:
    """While Prometheus scrapes: one message that ends DONE, then one that ends FAILED
    because the Media Service is down (its uploads retried until the budget is spent), so
    every rate and quantile of the dashboard has something to show. Prometheus' URL."""
    metadata = (("authorization", f"Bearer {sent.token}"),)
    worker = stack.ports.metrics()["worker"]
    async with grpc.aio.insecure_channel(stack.conversation) as channel:
        stub = rpc.ConversationServiceStub(channel)
        conversation = (
            await stub.CreateConversation(pb.CreateConversationRequest(), metadata=metadata)
        ).conversation.conversation_id
        request = pb.SendMessageRequest(conversation_id=conversation, prompt=CLIO)
        before = scrape(worker)
        done = (await stub.SendMessage(request, metadata=metadata)).message
        assert (await until_ended(stub, done, metadata)).status == pb.MESSAGE_STATUS_DONE
        stack.kill("media stand-in")
        try:
            failing = (await stub.SendMessage(request, metadata=metadata)).message
            failed = await until_ended(stub, failing, metadata)
        finally:
            await stack.restart("media stand-in")
    assert failed.status == pb.MESSAGE_STATUS_FAILED, failed
    # The worker settled it: counted once, under the reason the message carries (counted
    # just after the store's update, which GetMessage may see first: poll a little).
    failure = {"outcome": "FAILED", "reason": failed.failure.reason}
    assert failure["reason"]
    was, deadline = total(before, "photofun_messages_total", **failure), time.monotonic() + 5
    while (counted := total(scrape(worker), "photofun_messages_total", **failure) - was) < 1:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert counted == 1, failure
    await asyncio.sleep(3)  # a few more scrapes (every second) after both
    # The failed message's own span (the worker's task) says it failed, and why.
    task = [
        s
        for s in read_trace(stack.root / "traces.jsonl", failed.trace_id)
        if (s.service, s.name) == ("worker", "run/photofun.process_message")
    ]
    assert len(task) == 1, task
    assert task[0].status.startswith("ERROR"), task[0]
    assert failed.failure.reason in task[0].status, task[0]
    return prometheus


# Series that exist only with a cloud provider configured: the test stack draws with the mock
# alone, which has no breaker (image_svc/chain.py), and prompt_svc runs without Gemini.
NEEDS_A_CLOUD = {"photofun_breaker_state"}


async def test_every_dashboard_query_parses_and_shows_data(watched: str) -> None:
    """Each PromQL expression of the Grafana dashboard, run by a real Prometheus over this
    stack's series, is valid and returns finite values (Grafana itself does not run here)."""
    dashboard = json.loads((OBSERVABILITY / "grafana/dashboards/photofun.json").read_text())
    empty: list[str] = []
    async with httpx.AsyncClient(timeout=10) as client:
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                reply = await client.get(f"{watched}/api/v1/query", params={"query": expr})
                assert reply.status_code == 200, (panel["title"], expr, reply.text)
                answer = reply.json()
                assert answer["status"] == "success", (expr, answer)
                values = [float(r["value"][1]) for r in answer["data"]["result"]]
                if not any(math.isfinite(v) for v in values):
                    empty.append(expr)
    needs_a_cloud = [e for e in empty if any(name in e for name in NEEDS_A_CLOUD)]
    assert empty == needs_a_cloud, f"no data for: {empty}"
    assert needs_a_cloud, "a breaker series showed up: drop it from NEEDS_A_CLOUD"
