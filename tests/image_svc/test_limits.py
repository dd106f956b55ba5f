"""Per-provider places and waiting lines, over a real port: jobs beyond the places wait in
line, and one that finds the line full is refused with RESOURCE_EXHAUSTED and a RetryInfo."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import pytest
from pydantic import ValidationError

from image_svc import app
from image_svc.limits import parse_concurrency
from image_svc.settings import Settings
from mesh.errors import error_info
from mesh.server import GrpcServer
from photofun.v1 import common_pb2, image_service_pb2, image_service_pb2_grpc
from tests.conftest import StartServer

CLIO = common_pb2.Subject(brand="Renault", model="Clio", year=2019, color="blue")


async def test_a_full_line_is_refused_with_a_retry_hint_and_the_line_is_served(
    start_server: StartServer, channel_to: Callable[[GrpcServer], grpc.aio.Channel]
) -> None:
    settings = Settings(
        render_mode="thread", mock_latency=2.0, provider_concurrency="mock=1", provider_queue=1
    )
    stub = image_service_pb2_grpc.ImageServiceStub(
        channel_to(await start_server(app.build, settings))
    )

    async def call(
        request: image_service_pb2.GenerateRequest,
    ) -> image_service_pb2.GenerateResponse:
        return await stub.Generate(request, timeout=30)

    def generate(n: int) -> asyncio.Task[image_service_pb2.GenerateResponse]:
        request = image_service_pb2.GenerateRequest(
            prompt=f"a red kite, take {n}", width=64, height=64
        )
        return asyncio.create_task(call(request))

    running, waiting = generate(1), generate(2)
    await asyncio.sleep(0.5)  # one holds the only place, one waits in the line of one
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await generate(3)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "mock image provider is busy" in (refused.value.details() or "")
    info = error_info(refused.value)
    assert info.reason == "PROVIDER_BUSY"
    assert info.retry_delay is not None
    assert 0.5 <= info.retry_delay <= 30
    with pytest.raises(grpc.aio.AioRpcError) as stream_refused:
        async for _ in stub.GenerateAngles(
            image_service_pb2.GenerateAnglesRequest(
                subject=CLIO, angles=[common_pb2.ANGLE_FRONT], width=64, height=64
            ),
            timeout=30,
        ):
            pass
    assert stream_refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    for reply in await asyncio.gather(running, waiting):
        assert reply.image.data


def test_provider_concurrency_is_read_as_name_number_pairs() -> None:
    assert parse_concurrency(" gemini=4, Mock=32 ,") == {"gemini": 4, "mock": 32}
    for bad in ("mock", "mock=0", "=3", "mock=x"):
        with pytest.raises(ValidationError, match="IMAGE_SVC_PROVIDER_CONCURRENCY"):
            Settings(provider_concurrency=bad)
