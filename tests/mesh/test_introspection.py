"""Health/List and reflection v1 and v1alpha on a real server, with documented descriptors."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from mesh.server import GrpcServer
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import ChannelTo, StartServer

PROMPTS = "photofun.v1.PromptService"


@pytest.fixture
async def server(start_server: StartServer) -> GrpcServer:
    settings = PromptSettings(gemini_api_key=None, media_service_url="http://127.0.0.1:8090")
    return await start_server(prompt_app.build, settings)


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
    server: GrpcServer, channel_to: ChannelTo, version: str
) -> None:
    channel = channel_to(server)
    listed = await reflect(
        channel, version, reflection_pb2.ServerReflectionRequest(list_services="")
    )
    names = {s.name for s in listed.list_services_response.service}
    assert {
        PROMPTS,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names

    found = await reflect(
        channel, version, reflection_pb2.ServerReflectionRequest(file_containing_symbol=PROMPTS)
    )
    files = {
        f.name: f
        for f in map(
            descriptor_pb2.FileDescriptorProto.FromString,
            found.file_descriptor_response.file_descriptor_proto,
        )
    }
    prompt = files["photofun/v1/prompt_service.proto"]
    comments = " ".join(
        loc.leading_comments for loc in prompt.source_code_info.location if loc.leading_comments
    )
    assert "Refines" in comments or "refine" in comments.lower()  # the contract's own words
    refine = next(m for m in prompt.message_type if m.name == "RefineRequest")
    assert {f.name: f.json_name for f in refine.field}["image_url"] == "imageUrl"
    assert "google/api/field_behavior.proto" in files  # dependencies come along


async def test_grpcurl_describes_a_service_with_its_documentation(
    server: GrpcServer, grpcurl: str
) -> None:
    def describe(symbol: str) -> str:
        done = subprocess.run(
            [grpcurl, "-plaintext", server.address, "describe", symbol],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        return done.stdout

    described = await asyncio.to_thread(describe, PROMPTS)
    assert "rpc Refine" in described
    assert "//" in described  # comments of the contract, not a bare signature
    v1 = await asyncio.to_thread(describe, "grpc.reflection.v1.ServerReflection")
    assert "ServerReflectionInfo" in v1


BUF = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "buf"


async def test_buf_curl_and_grpcurl_list_services_through_reflection_v1(
    server: GrpcServer, grpcurl: str
) -> None:
    assert BUF.exists(), "buf comes from node_modules (make env)"

    def run(argv: list[str]) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
        return done.stdout

    # buf curl pinned to v1 (no fall-back to v1alpha): it fails if only v1alpha is served.
    listed = await asyncio.to_thread(
        run,
        [
            str(BUF),
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "--reflect-protocol",
            "grpc-v1",
            "--list-services",
            f"http://{server.address}",
        ],
    )
    assert PROMPTS in listed.split()
    assert "grpc.health.v1.Health" in listed.split()
    by_grpcurl = await asyncio.to_thread(run, [grpcurl, "-plaintext", server.address, "list"])
    assert PROMPTS in by_grpcurl.split()


async def test_health_list_reports_every_service_and_draining(
    server: GrpcServer, channel_to: ChannelTo
) -> None:
    stub = health_pb2_grpc.HealthStub(channel_to(server))
    listed = await stub.List(health_pb2.HealthListRequest())  # type: ignore[attr-defined]
    serving = health_pb2.HealthCheckResponse.SERVING
    assert {name: s.status for name, s in listed.statuses.items()} == {
        "": serving,
        PROMPTS: serving,
    }
    await server.health.enter_graceful_shutdown()
    drained = await stub.List(health_pb2.HealthListRequest())  # type: ignore[attr-defined]
    assert {s.status for s in drained.statuses.values()} == {
        health_pb2.HealthCheckResponse.NOT_SERVING
    }
