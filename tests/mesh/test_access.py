"""The gate in front of every RPC (mesh.access) on real servers: no token, no call; health
open; reflection a setting; a mesh service may call for a user only with its own identity."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor as pbd
from structlog.testing import capture_logs

from conversation_svc import app as conversation_app
from conversation_svc.settings import Settings as ConversationSettings
from devstack import grpcweb_bridge
from image_svc import app as image_app
from image_svc.settings import Settings as ImageSettings
from mesh.access import (
    SERVICE_TOKEN_KEY,
    USER_KEY,
    ServiceTokens,
    current_caller,
    derive_mesh_key,
)
from mesh.auth import mint_token
from mesh.server import GrpcServer, ServiceBinding
from mesh.settings import ServerSettings
from photofun.v1 import (
    conversation_service_pb2,
    image_service_pb2,
    prompt_service_pb2,
    prompt_service_pb2_grpc,
)
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import TEST_JWT_SECRET, ChannelTo, StartServer, as_user
from tests.status import details_of

MEDIA = "http://127.0.0.1:8090"
REFINE = prompt_service_pb2.RefineRequest(prompt="a red kite over the sea")
MESH_TOKENS = ServiceTokens(derive_mesh_key(TEST_JWT_SECRET.encode()))


@pytest.fixture
async def prompt(start_server: StartServer) -> GrpcServer:
    return await start_server(prompt_app.build, PromptSettings(media_service_url=MEDIA))


def _methods(*services: pbd.ServiceDescriptor) -> list[tuple[str, bool]]:
    return [
        (f"/{service.full_name}/{method.name}", method.server_streaming)
        for service in services
        for method in service.methods
    ]


PUBLIC = _methods(
    prompt_service_pb2.DESCRIPTOR.services_by_name["PromptService"],
    image_service_pb2.DESCRIPTOR.services_by_name["ImageService"],
    conversation_service_pb2.DESCRIPTOR.services_by_name["ConversationService"],
)


async def _call(channel: grpc.aio.Channel, path: str, streaming: bool, **kwargs: object) -> None:
    call: Any = channel.unary_stream(path) if streaming else channel.unary_unary(path)
    if streaming:
        async for _ in call(b"", timeout=20, **kwargs):
            pass
    else:
        await call(b"", timeout=20, **kwargs)


async def test_every_public_rpc_without_a_token_is_unauthenticated(
    start_server: StartServer,
    channel_to: ChannelTo,
    mongo_uri: str,
    redis_url: str,
    database: str,
) -> None:
    image = await start_server(
        image_app.build, ImageSettings(render_mode="thread", media_service_url=MEDIA)
    )
    prompt = await start_server(prompt_app.build, PromptSettings(media_service_url=MEDIA))
    conversation = await start_server(
        conversation_app.build,
        ConversationSettings(
            mongodb_uri=mongo_uri,
            mongodb_database=database,
            celery_broker_url=redis_url,
            media_service_url=MEDIA,
        ),
    )
    servers = {"PromptService": prompt, "ImageService": image, "ConversationService": conversation}
    # Every service the edges route, each method of each (grpcweb_bridge.PUBLIC_SERVICES).
    assert {path.split("/")[1] for path, _ in PUBLIC} == set(grpcweb_bridge.PUBLIC_SERVICES)
    for path, streaming in PUBLIC:
        server = servers[path.split("/")[1].split(".")[-1]]
        bare = channel_to(server, user=None)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _call(bare, path, streaming)
        got = details_of(caught.value)
        assert (got.code, got.reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "MISSING_CREDENTIALS",
        ), path
        forged = (("authorization", f"Bearer {mint_token('x' * 40, 'alice')}"),)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _call(bare, path, streaming, metadata=forged)
        assert details_of(caught.value).reason == "INVALID_TOKEN", path


async def test_health_stays_open(prompt: GrpcServer, channel_to: ChannelTo) -> None:
    check: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]
    check = channel_to(prompt, user=None).unary_unary("/grpc.health.v1.Health/Check")
    assert await check(b"", timeout=10) == b"\x08\x01"  # SERVING


async def test_reflection_is_a_setting(
    start_server: StartServer, channel_to: ChannelTo, grpcurl: str
) -> None:
    off = await start_server(
        prompt_app.build, PromptSettings(media_service_url=MEDIA, grpc_reflection=False)
    )
    on = await start_server(prompt_app.build, PromptSettings(media_service_url=MEDIA))
    listed = {}
    for name, server in (("off", off), ("on", on)):
        listed[name] = await asyncio.to_thread(
            subprocess.run,
            [grpcurl, "-plaintext", server.address, "list"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    assert "photofun.v1.PromptService" in listed["on"].stdout
    assert listed["off"].returncode != 0
    assert "does not support the reflection API" in listed["off"].stderr


async def test_a_trusted_mesh_service_calls_for_a_user(
    prompt: GrpcServer, channel_to: ChannelTo
) -> None:
    stub = prompt_service_pb2_grpc.PromptServiceStub(channel_to(prompt, user=None))
    worker = ((SERVICE_TOKEN_KEY, MESH_TOKENS.mint("conversation_svc")), (USER_KEY, "alice"))
    reply = await stub.Refine(REFINE, metadata=worker)
    assert reply.refined_prompt


@pytest.mark.parametrize(
    ("make", "code", "reason"),
    [
        # An identity not in MESH_TRUSTED_CALLERS names a user: its word is not taken.
        (
            lambda: ((SERVICE_TOKEN_KEY, MESH_TOKENS.mint("edge")), (USER_KEY, "alice")),
            grpc.StatusCode.UNAUTHENTICATED,
            "MISSING_CREDENTIALS",
        ),
        # A service token signed with another key.
        (
            lambda: (
                (SERVICE_TOKEN_KEY, ServiceTokens(b"k" * 32).mint("conversation_svc")),
                (USER_KEY, "alice"),
            ),
            grpc.StatusCode.UNAUTHENTICATED,
            "INVALID_SERVICE_TOKEN",
        ),
        # A user's token is no service token ...
        (
            lambda: ((SERVICE_TOKEN_KEY, mint_token(TEST_JWT_SECRET, "conversation_svc")),),
            grpc.StatusCode.UNAUTHENTICATED,
            "INVALID_SERVICE_TOKEN",
        ),
        # ... nor a service token a user's.
        (
            lambda: (("authorization", f"Bearer {MESH_TOKENS.mint('conversation_svc')}"),),
            grpc.StatusCode.UNAUTHENTICATED,
            "INVALID_TOKEN",
        ),
        # A token of one user for the metadata of another.
        (
            lambda: (*as_user("mallory"), (USER_KEY, "alice")),
            grpc.StatusCode.PERMISSION_DENIED,
            "NOT_TRUSTED_FOR_USER",
        ),
    ],
)
async def test_who_may_call_for_a_user(
    prompt: GrpcServer,
    channel_to: ChannelTo,
    make: Callable[[], tuple[tuple[str, str], ...]],
    code: grpc.StatusCode,
    reason: str,
) -> None:
    stub = prompt_service_pb2_grpc.PromptServiceStub(channel_to(prompt, user=None))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Refine(REFINE, metadata=make())  # made now: service tokens live 5 minutes
    got = details_of(caught.value)
    assert (got.code, got.reason) == (code, reason), got


async def test_a_users_own_name_in_the_metadata_is_fine(
    prompt: GrpcServer, channel_to: ChannelTo
) -> None:
    stub = prompt_service_pb2_grpc.PromptServiceStub(channel_to(prompt, user=None))
    assert await stub.Refine(REFINE, metadata=(*as_user("alice"), (USER_KEY, "alice")))


async def test_refusals_are_logged_once_not_per_call(
    prompt: GrpcServer, channel_to: ChannelTo
) -> None:
    stub = prompt_service_pb2_grpc.PromptServiceStub(channel_to(prompt, user=None))
    forged = (("authorization", f"Bearer {mint_token('x' * 40, 'alice')}"),)
    with capture_logs() as logs:
        for _ in range(20):
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.Refine(REFINE)
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.Refine(REFINE, metadata=forged)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Refine(REFINE, metadata=(*as_user("mallory"), (USER_KEY, "alice")))
    # Everything at INFO or above, not only the gate's own lines: one per peer and reason.
    loud = [e for e in logs if e["log_level"] not in ("debug", "notset")]
    assert [(e["event"], e["reason"]) for e in loud] == [
        ("caller refused", "MISSING_CREDENTIALS"),
        ("caller refused", "INVALID_TOKEN"),
        ("caller refused", "NOT_TRUSTED_FOR_USER"),
    ], loud
    # Why the token failed, which the caller is not told, is in that one line.
    assert loud[1]["detail"] == "Signature verification failed"
    # A served call still leaves its one INFO line.
    with capture_logs() as logs:
        await stub.Refine(REFINE, metadata=as_user("alice"))
    assert [e["event"] for e in logs if e["log_level"] == "info"] == ["rpc finished"]


async def _count(requests: AsyncIterator[bytes], context: object) -> bytes:
    del context
    seen = [r async for r in requests]
    return f"{current_caller().user}:{len(seen)}".encode()


async def _echo(requests: AsyncIterator[bytes], context: object) -> AsyncIterator[bytes]:
    del context
    async for request in requests:
        yield current_caller().user.encode() + b":" + request


async def test_client_streaming_rpcs_pass_the_gate_too(
    start_server: StartServer, channel_to: ChannelTo
) -> None:
    # No such public RPC today; a new one must not skip authentication (only reflection does).
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "Count": grpc.stream_unary_rpc_method_handler(_count),
        "Echo": grpc.stream_stream_rpc_method_handler(_echo),
    }
    generic = grpc.method_handlers_generic_handler("test.Streams", handlers)

    async def build(settings: object, stack: object) -> list[ServiceBinding]:
        del settings, stack
        return [
            ServiceBinding(
                "test.Streams", lambda server: server.add_generic_rpc_handlers((generic,))
            )
        ]

    server = await start_server(build, ServerSettings())
    bare = channel_to(server, user=None)
    count: Any = bare.stream_unary("/test.Streams/Count")
    echo: Any = bare.stream_stream("/test.Streams/Echo")
    for refused in (count(iter([b"a"]), timeout=10), _drain(echo(iter([b"a"]), timeout=10))):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await refused
        got = details_of(caught.value)
        assert (got.code, got.reason) == (grpc.StatusCode.UNAUTHENTICATED, "MISSING_CREDENTIALS")
    alice = as_user("alice")
    assert await count(iter([b"a", b"b"]), metadata=alice, timeout=10) == b"alice:2"
    echoed = [r async for r in echo(iter([b"a", b"b"]), metadata=alice, timeout=10)]
    assert echoed == [b"alice:a", b"alice:b"]


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass


def test_a_server_without_token_configuration_does_not_start() -> None:
    from mesh.auth import AuthConfigError

    with pytest.raises(AuthConfigError):
        GrpcServer([], ServerSettings(jwt_secret=""))
