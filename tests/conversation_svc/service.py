"""What the conversation service tests share: tokens, a status check, the stub starter's type,
the worker's pipeline on given servers, a scripted image service.

The ``start_stub`` and ``stub`` fixtures that use these live in this folder's conftest.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
import pytest

from conversation_svc.pipeline import Pipeline
from conversation_svc.runtime import mesh_channel
from conversation_svc.store import Store
from conversation_svc.tokens import TokenSigner, derive_key
from mesh.auth import mint_token
from mesh.media import MediaClient
from mesh.server import GrpcServer, ServiceBinding, bind
from mesh.settings import ServerSettings
from photofun.v1 import image_service_pb2_grpc
from photofun.v1 import prompt_service_pb2_grpc as prompt_grpc
from tests.conftest import StartServer
from tests.status import details_of

if TYPE_CHECKING:
    from photofun.v1 import conversation_service_pb2_grpc as rpc

    Stub = rpc.ConversationServiceAsyncStub

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
MEDIA = "http://127.0.0.1:8090"

StartStub = Callable[..., Awaitable["Stub"]]


def signer() -> TokenSigner:
    """Signs tokens as the service under test does (its key derived from SECRET): for tests
    that forge well-signed tokens with contents the service never issued."""
    return TokenSigner(derive_key(SECRET.encode()))


def auth(user: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {mint_token(SECRET, user)}"),)


async def expect(call: Any, code: grpc.StatusCode, *, field: str = "", reason: str = "") -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    got = details_of(caught.value)
    assert got.code == code, got
    if field:
        assert got.field == field
    if reason:
        assert got.reason == reason


async def worker_pipeline(
    stack: contextlib.AsyncExitStack,
    store: Store,
    prompt: GrpcServer,
    image: GrpcServer,
    media_url: str,
) -> Pipeline:
    """The pipeline as the worker builds it, on these servers and this Media Service: its
    channels prove the worker's identity, so each call is for the message's owner. Its
    clients are closed by ``stack``."""
    media = MediaClient(media_url)
    stack.push_async_callback(media.aclose)
    channels = [mesh_channel(s.address, ServerSettings()) for s in (prompt, image)]
    for channel in channels:
        stack.push_async_callback(channel.close)
    return Pipeline(
        store,
        prompt_grpc.PromptServiceStub(channels[0]),
        image_service_pb2_grpc.ImageServiceStub(channels[1]),
        media,
    )


async def scripted_image_service(
    start_server: StartServer, servicer: image_service_pb2_grpc.ImageServiceServicer
) -> GrpcServer:
    """A real gRPC server answering as ``servicer`` (a script standing in for image_svc)."""

    async def build(settings: object, stack: object) -> list[ServiceBinding]:
        del settings, stack
        add = image_service_pb2_grpc.add_ImageServiceServicer_to_server
        return [bind(servicer, add, "photofun.v1.ImageService")]

    return await start_server(build, ServerSettings())
