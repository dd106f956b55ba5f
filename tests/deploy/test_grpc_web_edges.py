"""Both gRPC-web edges, held to one set of tests: the real Envoy with envoy/envoy.yaml
(production) and the dev bridge `make run` starts (devstack/grpcweb_bridge.py).

Behind them: the real prompt and image services, and a scripted ConversationService whose
WatchMessage fails after its first message or hangs until cancelled (what the real one does
only under faults). For Envoy only the addresses change (loopback, free ports); routes,
filters, CORS, health checks and timeouts are the production file's. Requests are what a
browser's gRPC-web client sends over HTTP/1.1: framed protobuf, ``x-grpc-web``, an ``Origin``,
status in a trailer frame.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import grpc
import httpx
import pytest
from google.protobuf.message import Message

from devstack import grpcweb_bridge
from devstack.local_envoy import LocalEnvoy, running_envoy
from image_svc import app as image_app
from image_svc.settings import Settings as ImageSettings
from mesh.errors import Unavailable, decode_details
from mesh.server import ServiceBinding, bind
from mesh.settings import ServerSettings
from photofun.v1 import (
    common_pb2,
    conversation_service_pb2_grpc,
    image_service_pb2,
    prompt_service_pb2,
    prompt_service_pb2_grpc,
)
from photofun.v1 import conversation_service_pb2 as conversation_pb2
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import StartServer, as_user, user_token

ORIGIN = "http://localhost:5173"
TOKEN = user_token()  # every public RPC needs a user (mesh.access), through both edges too
GRPC_WEB = {
    "content-type": "application/grpc-web+proto",
    "x-grpc-web": "1",
    "x-user-agent": "connect-es/2.2",
    "origin": ORIGIN,
    "authorization": f"Bearer {TOKEN}",
}
PROMPTS, IMAGES, CONVERSATIONS = grpcweb_bridge.PUBLIC_SERVICES
DETECT = f"/{PROMPTS}/DetectIntent"
ANGLES = f"/{IMAGES}/GenerateAngles"
WATCH = f"/{CONVERSATIONS}/WatchMessage"
GET_MESSAGE = f"/{CONVERSATIONS}/GetMessage"
UPLOAD = f"/{CONVERSATIONS}/UploadImage"
MOCK_LATENCY = 0.4  # seconds per image; one at a time, so views arrive that far apart


@dataclass
class Reply:
    """A gRPC-web response: HTTP status and headers, the messages, the trailers."""

    http_status: int
    headers: httpx.Headers
    messages: list[bytes]
    trailers: dict[str, str]

    @property
    def grpc_status(self) -> str | None:
        # A trailers-only answer carries the status in the headers.
        return self.trailers.get("grpc-status") or self.headers.get("grpc-status")

    @property
    def trailers_only(self) -> bool:
        """Refused or failed before the first message, as Envoy answers it: the status in the
        HTTP headers and an empty body (no messages, no trailer frame)."""
        return not self.messages and not self.trailers and "grpc-status" in self.headers


def frame(message: Message) -> bytes:
    data = message.SerializeToString()
    return b"\x00" + len(data).to_bytes(4, "big") + data


def unframe(body: bytes) -> tuple[list[bytes], dict[str, str]]:
    messages: list[bytes] = []
    trailers: dict[str, str] = {}
    at = 0
    while at < len(body):
        flags, size = body[at], int.from_bytes(body[at + 1 : at + 5], "big")
        chunk, at = body[at + 5 : at + 5 + size], at + 5 + size
        if flags & 0x80:
            for line in chunk.decode().split("\r\n"):
                if line:
                    name, _, value = line.partition(":")
                    trailers[name.strip().lower()] = value.strip()
        else:
            messages.append(chunk)
    return messages, trailers


class Edge:
    """A running edge (``envoy`` or ``bridge``) and its listener URL."""

    def __init__(self, kind: str, url: str, envoy: LocalEnvoy | None = None) -> None:
        self.kind = kind
        self.url = url
        self.envoy = envoy  # the running Envoy, for its counters

    async def call(
        self, client: httpx.AsyncClient, path: str, request: Message, **headers: str
    ) -> Reply:
        response = await client.post(
            self.url + path, content=frame(request), headers={**GRPC_WEB, **headers}
        )
        messages, trailers = unframe(response.content)
        return Reply(response.status_code, response.headers, messages, trailers)


class ScriptedConversations(conversation_service_pb2_grpc.ConversationServiceServicer):
    """WatchMessage and GetMessage doing what the test's message id asks for."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()

    async def WatchMessage(
        self,
        request: conversation_pb2.WatchMessageRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[conversation_pb2.WatchMessageResponse]:
        if request.message_id == "fails-at-once":  # before any message or header
            raise Unavailable("the store is down", reason="STORE_UNAVAILABLE")
        if request.message_id == "quiet":  # open, headers sent, nothing changes yet
            await context.send_initial_metadata((("x-watch", "open"),))
            await self._until_cancelled()
        yield conversation_pb2.WatchMessageResponse(
            event=conversation_pb2.MESSAGE_EVENT_SNAPSHOT,
            message=conversation_pb2.Message(message_id=request.message_id),
            resume_token="1",
        )
        if request.message_id == "fails-after-one":
            raise Unavailable("the store went away mid-stream", reason="STORE_UNAVAILABLE")
        if request.message_id == "hangs":
            await self._until_cancelled()

    async def _until_cancelled(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def GetMessage(
        self,
        request: conversation_pb2.GetMessageRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> conversation_pb2.GetMessageResponse:
        # Echo what arrived as metadata, and send some back as headers and trailers.
        seen = dict(context.invocation_metadata() or ())
        await context.send_initial_metadata((("x-echo-header", "initial"),))
        context.set_trailing_metadata((("x-echo-trailer", "final"), ("x-raw-bin", b"\x00\xff")))
        return conversation_pb2.GetMessageResponse(
            message=conversation_pb2.Message(
                message_id=request.message_id,
                prompt=str(seen.get("authorization", "")),
                reply=repr(seen.get("x-trace-bin")),
                request_id=str(seen.get("x-request-id", "")),
                keywords=sorted(seen),
            )
        )

    async def UploadImage(
        self,
        request: conversation_pb2.UploadImageRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> conversation_pb2.UploadImageResponse:
        # Says what arrived, so the test can tell the picture came through whole.
        digest = hashlib.sha256(request.data).hexdigest()
        return conversation_pb2.UploadImageResponse(
            image_url=f"http://media/{digest}", size_bytes=len(request.data)
        )


@dataclass
class Upstreams:
    """The services behind the edge."""

    ports: dict[str, int]
    conversations: ScriptedConversations


@pytest.fixture
async def upstreams(start_server: StartServer) -> Upstreams:
    prompt = await start_server(
        prompt_app.build, PromptSettings(gemini_api_key=None, media_service_url="http://m")
    )
    image = await start_server(
        image_app.build,
        ImageSettings(render_mode="thread", mock_latency=MOCK_LATENCY, max_concurrency=1),
    )
    scripted = ScriptedConversations()  # type: ignore[abstract]  # the other RPCs: UNIMPLEMENTED

    async def build_scripted(settings: object, stack: object) -> list[ServiceBinding]:
        del settings, stack
        add = conversation_service_pb2_grpc.add_ConversationServiceServicer_to_server
        return [bind(scripted, add, CONVERSATIONS)]

    conversation = await start_server(build_scripted, ServerSettings())
    ports = {
        "prompt_svc": prompt.port,
        "image_svc": image.port,
        "conversation_svc": conversation.port,
    }
    return Upstreams(ports, scripted)


@pytest.fixture(params=["envoy", "bridge"])
async def edge(
    request: pytest.FixtureRequest, upstreams: Upstreams, tmp_path: Path
) -> AsyncIterator[Edge]:
    if request.param == "envoy":
        envoy_binary: Path = request.getfixturevalue("envoy_binary")
        async with _envoy(envoy_binary, upstreams.ports, tmp_path) as edge:
            yield edge
    else:
        async with _bridge(upstreams.ports) as edge:
            yield edge


@contextlib.asynccontextmanager
async def _envoy(binary: Path, ports: dict[str, int], tmp_path: Path) -> AsyncIterator[Edge]:
    async with running_envoy(binary, ports, tmp_path) as envoy:
        yield Edge("envoy", envoy.url, envoy)


@contextlib.asynccontextmanager
async def _bridge(ports: dict[str, int]) -> AsyncIterator[Edge]:
    services = {"prompt_svc": PROMPTS, "image_svc": IMAGES, "conversation_svc": CONVERSATIONS}
    upstreams = {services[name]: f"127.0.0.1:{port}" for name, port in ports.items()}
    runner, port = await grpcweb_bridge.start(
        grpcweb_bridge.BridgeConfig(upstreams), "127.0.0.1", 0
    )
    try:
        yield Edge("bridge", f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield http


async def test_a_unary_call_reaches_the_service_with_cors_and_request_id(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    request = prompt_service_pb2.DetectIntentRequest(prompt="draw a red Renault Clio")
    reply = await edge.call(client, DETECT, request, **{"x-request-id": "req-edge-1"})
    assert reply.http_status == 200
    assert reply.grpc_status == "0", reply
    (message,) = reply.messages
    answer = prompt_service_pb2.DetectIntentResponse.FromString(message)
    assert answer.intent == common_pb2.INTENT_GENERATE_IMAGE
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    exposed = reply.headers["access-control-expose-headers"]
    assert {"grpc-status", "grpc-message", "grpc-status-details-bin"} <= {
        h.strip() for h in exposed.split(",")
    }
    assert reply.headers["x-request-id"] == "req-edge-1"


async def test_an_error_reaches_the_browser_with_code_message_and_details(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    reply = await edge.call(client, DETECT, prompt_service_pb2.DetectIntentRequest(prompt=""))
    assert reply.grpc_status == "3", reply  # INVALID_ARGUMENT
    # Before the first message: trailers-only on both edges, the details in the headers too.
    assert reply.http_status == 200
    assert reply.trailers_only, reply
    assert reply.headers["grpc-message"]
    info = decode_details(_unbase64(reply.headers["grpc-status-details-bin"]))
    assert info.reason == "INVALID_ARGUMENT"
    assert reply.headers["access-control-allow-origin"] == ORIGIN


def _unbase64(value: str) -> bytes:
    return base64.b64decode(value + "=" * (-len(value) % 4))


async def test_angles_stream_through_one_by_one(edge: Edge, client: httpx.AsyncClient) -> None:
    request = image_service_pb2.GenerateAnglesRequest(
        subject=common_pb2.Subject(text="a red car"),
        angles=[common_pb2.ANGLE_FRONT, common_pb2.ANGLE_SIDE, common_pb2.ANGLE_REAR],
        width=128,
        height=128,
    )
    arrivals: list[float] = []
    body = b""
    started = time.monotonic()
    async with client.stream(
        "POST", edge.url + ANGLES, content=frame(request), headers=GRPC_WEB
    ) as response:
        async for chunk in response.aiter_raw():
            arrivals.append(time.monotonic() - started)
            body += chunk
    messages, trailers = unframe(body)
    assert trailers["grpc-status"] == "0", trailers
    views = [image_service_pb2.GenerateAnglesResponse.FromString(m) for m in messages]
    assert [v.angle for v in views] == list(request.angles)
    assert all(v.HasField("image") for v in views)
    # Envoy forwards each view as it comes: the first long before the stream ends.
    assert arrivals[0] < arrivals[-1] - MOCK_LATENCY, arrivals


async def test_the_callers_deadline_is_honoured(edge: Edge, client: httpx.AsyncClient) -> None:
    request = image_service_pb2.GenerateAnglesRequest(
        subject=common_pb2.Subject(text="a red car"), angles=[common_pb2.ANGLE_FRONT]
    )
    reply = await edge.call(client, ANGLES, request, **{"grpc-timeout": "100m"})
    assert reply.grpc_status == "4", reply  # DEADLINE_EXCEEDED


async def test_preflight_answers_allowed_origins_only(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    asked = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,x-user-agent,authorization",
    }
    before = await upstream_requests(edge)
    allowed = await client.options(edge.url + DETECT, headers={**asked, "origin": ORIGIN})
    assert allowed.status_code in (200, 204)  # Envoy: 200, the bridge: 204 (no body)
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "x-grpc-web" in allowed.headers["access-control-allow-headers"]
    other = await client.options(
        edge.url + DETECT, headers={**asked, "origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers
    # Both answered by the edge: route 3 names a cluster only for the cors filter's sake.
    assert await upstream_requests(edge) == before


@pytest.mark.parametrize(
    "path",
    [
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/",
    ],
)
async def test_operator_services_are_not_exposed(
    edge: Edge, client: httpx.AsyncClient, path: str
) -> None:
    reply = await edge.call(client, path, prompt_service_pb2.DetectIntentRequest())
    # Envoy's last route answers an unrouted path itself: HTTP 404, which its grpc_web filter
    # turns into UNIMPLEMENTED in the headers; the bridge answers the same.
    assert reply.http_status == 404, reply
    assert reply.trailers_only, reply
    assert reply.grpc_status == str(grpc.StatusCode.UNIMPLEMENTED.value[0]), reply


# The dev bridge speaks only gRPC-web; locally, plain gRPC goes to the service ports.
@pytest.mark.parametrize("edge", ["envoy"], indirect=True)
async def test_plain_grpc_clients_use_the_same_port(edge: Edge) -> None:
    async with grpc.aio.insecure_channel(edge.url.removeprefix("http://")) as channel:
        stub = prompt_service_pb2_grpc.PromptServiceStub(channel)
        answer = await stub.DetectIntent(
            prompt_service_pb2.DetectIntentRequest(prompt="draw a red Renault Clio"),
            timeout=10,
            metadata=as_user(),
        )
        assert answer.intent == common_pb2.INTENT_GENERATE_IMAGE
        health: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]
        health = channel.unary_unary("/grpc.health.v1.Health/Check")
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await health(b"", timeout=10)
        assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_an_error_after_the_first_message_arrives_in_the_trailers(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    request = conversation_pb2.WatchMessageRequest(message_id="fails-after-one")
    reply = await edge.call(client, WATCH, request)
    assert reply.http_status == 200
    (first,) = reply.messages
    snapshot = conversation_pb2.WatchMessageResponse.FromString(first)
    assert snapshot.message.message_id == "fails-after-one"
    assert reply.trailers["grpc-status"] == str(grpc.StatusCode.UNAVAILABLE.value[0]), reply
    assert reply.trailers["grpc-message"] == "the store went away mid-stream"
    raw = reply.trailers["grpc-status-details-bin"]
    info = decode_details(base64.b64decode(raw + "=" * (-len(raw) % 4)))
    assert info.reason == "STORE_UNAVAILABLE"


async def test_a_browser_that_goes_away_cancels_the_upstream_call(
    edge: Edge, client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    request = conversation_pb2.WatchMessageRequest(message_id="hangs")
    async with client.stream(
        "POST", edge.url + WATCH, content=frame(request), headers=GRPC_WEB
    ) as response:
        async for chunk in response.aiter_raw():
            assert chunk[0] == 0  # the snapshot's message frame; the stream stays open
            break
    # Leaving the block closes the connection mid-stream, as a closed tab does.
    assert not upstreams.conversations.cancelled.is_set()
    await asyncio.wait_for(upstreams.conversations.cancelled.wait(), 5)


async def test_metadata_goes_both_ways(edge: Edge, client: httpx.AsyncClient) -> None:
    binary = base64.b64encode(b"\x01\x02\xfe").decode().rstrip("=")
    reply = await edge.call(
        client,
        GET_MESSAGE,
        conversation_pb2.GetMessageRequest(message_id="m1"),
        **{"x-trace-bin": binary, "x-request-id": "req-meta-1"},
    )
    assert reply.grpc_status == "0", reply
    (message,) = reply.messages
    echoed = conversation_pb2.GetMessageResponse.FromString(message).message
    assert echoed.prompt == f"Bearer {TOKEN}"
    assert echoed.reply == repr(b"\x01\x02\xfe")  # -bin headers arrive decoded
    assert echoed.request_id == "req-meta-1"
    assert reply.headers["x-echo-header"] == "initial"
    assert reply.trailers["x-echo-trailer"] == "final"
    assert base64.b64decode(reply.trailers["x-raw-bin"] + "==") == b"\x00\xff"


async def test_an_unknown_method_of_a_routed_service_is_unimplemented(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    reply = await edge.call(
        client, f"/{CONVERSATIONS}/NoSuchMethod", conversation_pb2.GetMessageRequest()
    )
    assert reply.http_status == 200
    assert reply.trailers_only, reply
    assert reply.grpc_status == str(grpc.StatusCode.UNIMPLEMENTED.value[0]), reply


async def test_grpc_web_text_is_understood(edge: Edge, client: httpx.AsyncClient) -> None:
    request = prompt_service_pb2.DetectIntentRequest(prompt="draw a red Renault Clio")
    response = await client.post(
        edge.url + DETECT,
        content=base64.b64encode(frame(request)),
        # As grpc-web's JS client in text mode; Envoy answers in text only when asked to.
        headers={
            **GRPC_WEB,
            "content-type": "application/grpc-web-text",
            "accept": "application/grpc-web-text",
        },
    )
    assert response.headers["content-type"].startswith("application/grpc-web-text")
    body = _decode_text_body(response.content)
    messages, trailers = unframe(body)
    assert trailers["grpc-status"] == "0", trailers
    answer = prompt_service_pb2.DetectIntentResponse.FromString(messages[0])
    assert answer.intent == common_pb2.INTENT_GENERATE_IMAGE


def _decode_text_body(body: bytes) -> bytes:
    """A grpc-web-text body: base64 chunks, each padded on its own (so decode per chunk)."""
    out = b""
    text = body.decode("ascii")
    while text:
        # A chunk ends at its padding or at a multiple of 4 characters before the next one.
        end = text.find("=")
        if end == -1:
            out += base64.b64decode(text)
            break
        end = end + 1 + (text[end + 1 : end + 2] == "=")
        out += base64.b64decode(text[:end])
        text = text[end:]
    return out


async def test_a_quiet_stream_is_open_at_once_and_leaving_it_cancels_the_call(
    edge: Edge, client: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    # A WatchMessage with nothing to say yet: the browser still learns the stream is open.
    request = conversation_pb2.WatchMessageRequest(message_id="quiet")
    opened = client.stream("POST", edge.url + WATCH, content=frame(request), headers=GRPC_WEB)
    async with asyncio.timeout(5):
        response = await opened.__aenter__()
    assert response.status_code == 200
    assert response.headers["x-watch"] == "open"
    await opened.__aexit__(None, None, None)  # the tab closes before any message
    await asyncio.wait_for(upstreams.conversations.cancelled.wait(), 5)


async def in_pieces(body: bytes, size: int) -> AsyncIterator[bytes]:
    """A request body sent as a browser sends a large one: in pieces, with pauses between."""
    for at in range(0, len(body), size):
        yield body[at : at + size]
        await asyncio.sleep(0)


async def test_a_large_request_arriving_in_pieces_is_read_whole(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    big_id = "m" * 900_000
    body = frame(conversation_pb2.GetMessageRequest(message_id=big_id))

    response = await client.post(
        edge.url + GET_MESSAGE, content=in_pieces(body, 64 * 1024), headers=GRPC_WEB
    )
    messages, trailers = unframe(response.content)
    assert trailers.get("grpc-status") == "0", trailers
    echoed = conversation_pb2.GetMessageResponse.FromString(messages[0]).message
    assert echoed.message_id == big_id


async def test_the_largest_picture_a_browser_may_upload_gets_through(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    # UploadImage takes up to 3 MiB; both edges must pass it (a browser's request, in pieces).
    data = random.Random(3).randbytes(3 * 1024 * 1024)
    body = frame(conversation_pb2.UploadImageRequest(data=data, filename="big.jpg"))

    response = await client.post(
        edge.url + UPLOAD, content=in_pieces(body, 256 * 1024), headers=GRPC_WEB
    )
    messages, trailers = unframe(response.content)
    assert trailers.get("grpc-status") == "0", trailers
    stored = conversation_pb2.UploadImageResponse.FromString(messages[0])
    assert stored.size_bytes == len(data)
    assert stored.image_url == f"http://media/{hashlib.sha256(data).hexdigest()}"


# What the bridge strips (Envoy has its own header sanitising).
@pytest.mark.parametrize("edge", ["bridge"], indirect=True)
async def test_the_bridge_forwards_call_metadata_only(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    reply = await edge.call(
        client,
        GET_MESSAGE,
        conversation_pb2.GetMessageRequest(message_id="m1"),
        connection="keep-alive, x-hop",
        **{
            "x-hop": "1",
            "proxy-authorization": "Basic eA==",
            "x-envoy-original-path": "/",
            "forwarded": "for=1.2.3.4",
            "x-forwarded-for": "10.0.0.1",
            "x-request-id": "",
            "x-tenant": "acme",
        },
    )
    assert reply.grpc_status == "0", reply
    echoed = conversation_pb2.GetMessageResponse.FromString(reply.messages[0]).message
    forwarded = set(echoed.keywords)
    assert "x-tenant" in forwarded
    assert not forwarded & {"x-hop", "proxy-authorization", "x-envoy-original-path", "forwarded"}
    assert echoed.request_id == reply.headers["x-request-id"] != ""  # a blank id is replaced


EVIL = "https://evil.example"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "x-grpc-web",
}
CLUSTERS = ("prompt_svc", "image_svc", "conversation_svc")
# One method of each public service, for the refusals that must hold on every route.
ONE_METHOD_EACH = [DETECT, ANGLES, GET_MESSAGE]


async def upstream_requests(edge: Edge) -> int:
    """Requests Envoy sent to any service so far (0 for the bridge, which has no counters)."""
    if edge.envoy is None:
        return 0
    counts = [await edge.envoy.counter(f"cluster.{name}.upstream_rq_total") for name in CLUSTERS]
    return sum(counts)


REFUSALS = {  # id: method, headers, whether the body is a gRPC-web frame, HTTP status
    "get": ("GET", {}, False, 405),
    "json-post": ("POST", {"content-type": "application/json"}, False, 415),
    # Content types that only start like gRPC's: no service takes them.
    "grpc-web+json": ("POST", {"content-type": "application/grpc-web+json"}, True, 415),
    "grpcfoo": ("POST", {"content-type": "application/grpcfoo"}, True, 415),
    # A plain gRPC content type: the refusal is a gRPC status a gRPC client reads (HTTP 200,
    # trailers-only), as Envoy answers every request of that kind itself; 415 is UNKNOWN.
    "grpc+json": ("POST", {"content-type": "application/grpc+json"}, True, 200),
    "foreign-preflight": ("OPTIONS", {**PREFLIGHT, "origin": EVIL}, False, 403),
    "options-without-origin": ("OPTIONS", PREFLIGHT, False, 405),  # not a CORS preflight
    "foreign-call": ("POST", {**GRPC_WEB, "origin": EVIL}, True, 403),  # from a foreign page
    "foreign-get": ("GET", {"origin": EVIL}, False, 403),  # a foreign page, whatever it asks
    "foreign-json": ("POST", {"content-type": "application/json", "origin": EVIL}, False, 403),
}
# A refused request of a gRPC content type also gets a gRPC status its client can read.
REFUSED_AS_GRPC = {
    "grpc+json": grpc.StatusCode.UNKNOWN,
    "foreign-call": grpc.StatusCode.PERMISSION_DENIED,
}
# The plainest refusals on one method of every service; the rest on DetectIntent.
REFUSAL_CASES = [
    pytest.param(
        path, *REFUSALS[name], REFUSED_AS_GRPC.get(name), id=f"{name}-{path.split('/')[1]}"
    )
    for name in REFUSALS
    for path in (ONE_METHOD_EACH if name in ("get", "json-post") else [DETECT])
]


@pytest.mark.parametrize(
    ("path", "method", "headers", "grpc_body", "status", "grpc_code"), REFUSAL_CASES
)
async def test_what_is_not_an_allowed_grpc_web_call_is_answered_by_the_edge(
    edge: Edge,
    client: httpx.AsyncClient,
    path: str,
    method: str,
    headers: dict[str, str],
    grpc_body: bool,
    status: int,
    grpc_code: grpc.StatusCode | None,
) -> None:
    body = frame(prompt_service_pb2.DetectIntentRequest(prompt="a red car")) if grpc_body else b""
    before = await upstream_requests(edge)
    reply = await client.request(method, edge.url + path, headers=headers, content=body)
    assert reply.status_code == status, reply.text
    assert "access-control-allow-origin" not in reply.headers
    if grpc_code is not None:
        assert reply.headers["grpc-status"] == str(grpc_code.value[0]), reply.headers
        assert reply.headers["grpc-message"], reply.headers
        assert reply.content == b""
    else:
        assert "grpc-status" not in reply.headers
    # Envoy answered it itself: nothing went to any service.
    assert await upstream_requests(edge) == before


NOPE = "/photofun.v1.Nope/X"  # under the services' package, but no service of ours


@pytest.mark.parametrize(
    ("path", "method", "headers", "status"),
    [
        (NOPE, "POST", {"content-type": "application/json"}, 415),
        (NOPE, "GET", {}, 405),
        ("/grpc.health.v1.Health/Check", "OPTIONS", {**PREFLIGHT, "origin": ORIGIN}, 404),
        ("/grpc.health.v1.Health/Check", "POST", {"content-type": "application/json"}, 404),
        ("/", "OPTIONS", {**PREFLIGHT, "origin": ORIGIN}, 404),
        ("/", "DELETE", {}, 404),
    ],
    ids=["nope-json", "nope-get", "health-preflight", "health-json", "root-preflight", "delete"],
)
async def test_paths_no_service_takes_are_answered_alike(
    edge: Edge,
    client: httpx.AsyncClient,
    path: str,
    method: str,
    headers: dict[str, str],
    status: int,
) -> None:
    before = await upstream_requests(edge)
    reply = await client.request(method, edge.url + path, headers=headers)
    assert reply.status_code == status, reply.text
    assert "access-control-allow-origin" not in reply.headers
    assert await upstream_requests(edge) == before


async def test_a_preflight_under_the_services_package_is_answered_by_the_edge(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    # Envoy's cors filter answers any preflight under /photofun.v1. (route 3); so does the bridge.
    before = await upstream_requests(edge)
    reply = await client.options(edge.url + NOPE, headers={**PREFLIGHT, "origin": ORIGIN})
    assert reply.status_code in (200, 204), reply.text
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert await upstream_requests(edge) == before


async def test_a_stream_that_fails_before_its_first_message_is_trailers_only(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    request = conversation_pb2.WatchMessageRequest(message_id="fails-at-once")
    reply = await edge.call(client, WATCH, request)
    assert reply.http_status == 200
    assert reply.trailers_only, reply
    assert reply.grpc_status == str(grpc.StatusCode.UNAVAILABLE.value[0]), reply
    assert reply.headers["grpc-message"] == "the store is down"
    info = decode_details(_unbase64(reply.headers["grpc-status-details-bin"]))
    assert info.reason == "STORE_UNAVAILABLE"


async def test_a_corrupt_request_message_is_invalid_argument_in_words(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    # A frame whose bytes are not a DetectIntentRequest (a truncated length-delimited field).
    garbage = b"\x0a\x7fnot protobuf"
    response = await client.post(
        edge.url + DETECT,
        content=b"\x00" + len(garbage).to_bytes(4, "big") + garbage,
        headers=GRPC_WEB,
    )
    messages, trailers = unframe(response.content)
    reply = Reply(response.status_code, response.headers, messages, trailers)
    assert reply.trailers_only, reply
    assert reply.grpc_status == str(grpc.StatusCode.INVALID_ARGUMENT.value[0]), reply
    message = unquote(reply.headers["grpc-message"])
    assert "not a valid protobuf message" in message
    assert "<class" not in message
    assert "Error" not in message


@pytest.fixture
async def h2c_client() -> AsyncIterator[httpx.AsyncClient]:
    # HTTP/2 without TLS, with prior knowledge: what buf curl --http2-prior-knowledge and
    # connect-node's gRPC-web transport on HTTP/2 send.
    async with httpx.AsyncClient(http1=False, http2=True, timeout=30) as http:
        yield http


async def test_grpc_web_over_h2c_prior_knowledge(edge: Edge, h2c_client: httpx.AsyncClient) -> None:
    request = prompt_service_pb2.DetectIntentRequest(prompt="draw a red Renault Clio")
    response = await h2c_client.post(edge.url + DETECT, content=frame(request), headers=GRPC_WEB)
    assert response.http_version == "HTTP/2"
    messages, trailers = unframe(response.content)
    assert trailers["grpc-status"] == "0", trailers
    answer = prompt_service_pb2.DetectIntentResponse.FromString(messages[0])
    assert answer.intent == common_pb2.INTENT_GENERATE_IMAGE
    assert response.headers["access-control-allow-origin"] == ORIGIN
    # A stream and an error before the first message come through HTTP/2 the same way.
    watch = conversation_pb2.WatchMessageRequest(message_id="fails-after-one")
    streamed = await h2c_client.post(edge.url + WATCH, content=frame(watch), headers=GRPC_WEB)
    (first,), trailers = unframe(streamed.content)
    assert conversation_pb2.WatchMessageResponse.FromString(first).message.message_id
    assert trailers["grpc-status"] == str(grpc.StatusCode.UNAVAILABLE.value[0]), trailers
    refused = await h2c_client.post(
        edge.url + DETECT, content=frame(prompt_service_pb2.DetectIntentRequest()), headers=GRPC_WEB
    )
    assert refused.content == b""
    assert refused.headers["grpc-status"] == str(grpc.StatusCode.INVALID_ARGUMENT.value[0])


async def test_an_h2c_upgrade_offer_on_a_call_is_answered_over_http1(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    # A POST may not switch protocols mid-body: both edges ignore the offer and answer as usual.
    request = prompt_service_pb2.DetectIntentRequest(prompt="draw a red Renault Clio")
    reply = await edge.call(
        client,
        DETECT,
        request,
        connection="Upgrade, HTTP2-Settings",
        upgrade="h2c",
        **{"http2-settings": "AAMAAABkAARAAAAAAAIAAAAA"},
    )
    assert reply.http_status == 200
    assert reply.grpc_status == "0", reply
    assert len(reply.messages) == 1


@pytest.mark.parametrize(
    ("path", "request_message"),
    [
        (DETECT, prompt_service_pb2.DetectIntentRequest(prompt="draw a red Renault Clio")),
        (f"/{PROMPTS}/Refine", prompt_service_pb2.RefineRequest(prompt="a red kite")),
        (f"/{IMAGES}/Generate", image_service_pb2.GenerateRequest(prompt="a red kite")),
        (ANGLES, image_service_pb2.GenerateAnglesRequest(subject=common_pb2.Subject(text="kite"))),
    ],
)
async def test_no_token_no_call_through_either_edge(
    edge: Edge, client: httpx.AsyncClient, path: str, request_message: Message
) -> None:
    refused = await edge.call(client, path, request_message, authorization="")
    assert refused.grpc_status == str(grpc.StatusCode.UNAUTHENTICATED.value[0]), refused
    assert not refused.messages
    forged = await edge.call(client, path, request_message, authorization="Bearer abc.def")
    assert forged.grpc_status == str(grpc.StatusCode.UNAUTHENTICATED.value[0]), forged
