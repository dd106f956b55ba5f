"""Per-user rate limits (mesh.ratelimit) on real servers and a real Redis: buckets shared by
replicas, RESOURCE_EXHAUSTED with RetryInfo, the worker's calls not counted twice."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from pydantic import SecretStr

from devstack.processes import free_port
from image_svc import app as image_app
from image_svc.settings import Settings as ImageSettings
from mesh.access import SERVICE_TOKEN_KEY, USER_KEY
from mesh.errors import StartupError, error_info
from mesh.server import GrpcServer, ServiceBinding
from photofun.v1 import (
    image_service_pb2,
    image_service_pb2_grpc,
    prompt_service_pb2,
    prompt_service_pb2_grpc,
)
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import ChannelTo, StartServer, as_user
from tests.mesh.test_access import MESH_TOKENS
from tests.prompt_svc.fake_gemini import FakeGemini, answer
from tests.prompt_svc.test_gemini import GOOD
from tests.status import details_of

MEDIA = "http://127.0.0.1:8090"
SMALL = image_service_pb2.GenerateRequest(prompt="a red kite", width=64, height=64)


def _user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"  # a bucket of its own: the Redis is the session's


async def _image(start_server: StartServer, redis: str, **limits: object) -> GrpcServer:
    settings = ImageSettings(
        render_mode="thread",
        media_service_url=MEDIA,
        rate_limit_redis_url=redis,
        **limits,  # type: ignore[arg-type]
    )
    return await start_server(image_app.build, settings)


async def _exhausted(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def test_two_replicas_share_one_bucket_per_user(
    start_server: StartServer, channel_to: ChannelTo, redis_url: str
) -> None:
    limits = {"rate_limit_images_per_minute": 1.0, "rate_limit_images_burst": 3}
    replicas = [
        image_service_pb2_grpc.ImageServiceStub(
            channel_to(await _image(start_server, redis_url, **limits))
        )
        for _ in range(2)
    ]
    alice = as_user(_user())
    for turn in range(3):  # the burst, spread over both replicas
        await replicas[turn % 2].Generate(SMALL, metadata=alice)
    for stub in replicas:  # the fourth is refused wherever it lands
        error = await _exhausted(stub.Generate(SMALL, metadata=alice))
        got = details_of(error)
        assert (got.code, got.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")
        assert "1 a minute (bursts of 3)" in got.message

        retry = error_info(error).retry_delay
        assert retry is not None
        assert 0 < retry <= 60
    # Another user has a bucket of their own; the worker calling for alice is not counted again.
    await replicas[0].Generate(SMALL, metadata=as_user(_user()))
    worker = ((SERVICE_TOKEN_KEY, MESH_TOKENS.mint("conversation_svc")), (USER_KEY, "alice"))
    await replicas[1].Generate(SMALL, metadata=worker)


async def test_the_bucket_refills_at_the_configured_rate(
    start_server: StartServer, channel_to: ChannelTo, redis_url: str
) -> None:
    server = await _image(
        start_server, redis_url, rate_limit_images_per_minute=120.0, rate_limit_images_burst=1
    )
    stub = image_service_pb2_grpc.ImageServiceStub(channel_to(server))
    bob = as_user(_user())
    await stub.Generate(SMALL, metadata=bob)
    error = await _exhausted(stub.Generate(SMALL, metadata=bob))

    wait = error_info(error).retry_delay
    assert wait is not None
    assert 0 < wait <= 0.5
    await asyncio.sleep(wait + 0.05)
    await stub.Generate(SMALL, metadata=bob)  # the token RetryInfo promised is there
    views = image_service_pb2.GenerateAnglesRequest(prompt="a kite", width=64, height=64)
    angles = stub.GenerateAngles(views, metadata=bob)
    got = details_of(await _exhausted(_drain(angles)))  # streams share the images bucket
    assert got.reason == "RATE_LIMITED"
    # EditImage too; the limit is checked before the request is even read.
    edit = image_service_pb2.EditImageRequest(image_url=f"{MEDIA}/media/x.png")
    got = details_of(await _exhausted(stub.EditImage(edit, metadata=bob)))
    assert (got.code, got.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")
    assert "too many requests: the limit for images is" in got.message


async def _drain(stream: object) -> None:
    async for _ in stream:  # type: ignore[attr-defined]
        pass


async def test_refine_and_detect_intent_are_limited_when_gemini_is_set(
    start_server: StartServer, channel_to: ChannelTo, redis_url: str
) -> None:
    async with FakeGemini("test-key").running() as gemini:
        gemini.script(answer(GOOD))
        settings = PromptSettings(
            media_service_url=MEDIA,
            gemini_api_key=SecretStr("test-key"),
            gemini_base_url=gemini.url,
            rate_limit_redis_url=redis_url,
            rate_limit_gemini_burst=1,
            rate_limit_gemini_per_minute=1.0,
        )
        stub = prompt_service_pb2_grpc.PromptServiceStub(
            channel_to(await start_server(prompt_app.build, settings))
        )
        dave = as_user(_user())
        await stub.Refine(prompt_service_pb2.RefineRequest(prompt="a kite"), metadata=dave)
        assert len(gemini.received) == 1
        # Both ask Gemini, so both take from the one bucket Refine just emptied.
        calls = {
            "Refine": stub.Refine(prompt_service_pb2.RefineRequest(prompt="a kite"), metadata=dave),
            "DetectIntent": stub.DetectIntent(
                prompt_service_pb2.DetectIntentRequest(prompt="draw a kite"), metadata=dave
            ),
        }
        for name, call in calls.items():
            got = details_of(await _exhausted(call))
            assert (got.code, got.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")
            assert "too many requests: the limit for gemini is" in got.message, name
        assert len(gemini.received) == 1  # refused before the handler: no Gemini money spent


async def test_refine_is_limited_only_when_it_calls_gemini(
    start_server: StartServer, channel_to: ChannelTo, redis_url: str
) -> None:
    settings = PromptSettings(
        media_service_url=MEDIA,
        gemini_api_key=None,
        rate_limit_redis_url=redis_url,
        rate_limit_gemini_burst=1,
        rate_limit_gemini_per_minute=1.0,
    )
    stub = prompt_service_pb2_grpc.PromptServiceStub(
        channel_to(await start_server(prompt_app.build, settings))
    )
    carol = as_user(_user())
    for _ in range(3):  # the local analyser: no model money, no limit
        await stub.Refine(prompt_service_pb2.RefineRequest(prompt="a kite"), metadata=carol)


async def test_an_unreachable_redis_lets_calls_through(
    start_server: StartServer, channel_to: ChannelTo
) -> None:
    server = await _image(
        start_server,
        f"redis://127.0.0.1:{free_port()}/0",
        rate_limit_images_per_minute=1.0,
        rate_limit_images_burst=1,
    )
    stub = image_service_pb2_grpc.ImageServiceStub(channel_to(server))
    for _ in range(2):
        await stub.Generate(SMALL)


@pytest.mark.parametrize(
    ("limits", "says"),
    [
        ({"refine": "gemini"}, "no such method"),  # method names are case-sensitive
        ({"Refine": "gemni"}, "no bucket 'gemni'"),
    ],
)
async def test_a_misspelt_limit_stops_the_server_from_starting(
    redis_url: str, limits: dict[str, str], says: str
) -> None:
    binding = ServiceBinding(name=prompt_app.SERVICE_NAME, add=lambda server: None, limits=limits)
    settings = PromptSettings(media_service_url=MEDIA, rate_limit_redis_url=redis_url)
    with pytest.raises(StartupError, match=says):
        GrpcServer([binding], settings)
