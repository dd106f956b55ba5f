"""The Prometheus series every server records, through a real server and a real scrape."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import httpx
import pytest
from prometheus_client import REGISTRY

from mesh.circuit import CircuitBreaker
from mesh.metrics import serve_metrics, watch_breaker
from mesh.server import GrpcServer
from mesh.settings import ServerSettings
from photofun.v1 import image_service_pb2, image_service_pb2_grpc
from tests.conftest import StartServer
from tests.mesh.test_interceptors import _build

SERIES = "photofun_rpc_server_handling_seconds_count"


def calls(method: str, code: str) -> float:
    labels = {"grpc_service": "photofun.v1.ImageService", "grpc_method": method, "grpc_code": code}
    return REGISTRY.get_sample_value(SERIES, labels) or 0.0


@pytest.fixture
async def stub(
    start_server: StartServer, channel_to: Callable[[GrpcServer], grpc.aio.Channel]
) -> image_service_pb2_grpc.ImageServiceAsyncStub:
    server = await start_server(_build, ServerSettings())
    return image_service_pb2_grpc.ImageServiceStub(channel_to(server))


@pytest.mark.parametrize(
    ("prompt", "code"),
    [("fine", "OK"), ("missing", "NOT_FOUND"), ("upstream", "UNAVAILABLE"), ("bug", "INTERNAL")],
)
async def test_every_call_is_counted_by_service_method_and_code(
    stub: image_service_pb2_grpc.ImageServiceAsyncStub, prompt: str, code: str
) -> None:
    before = calls("Generate", code)
    call = stub.Generate(image_service_pb2.GenerateRequest(prompt=prompt))
    if code == "OK":
        await call
    else:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code().name == code
    assert calls("Generate", code) == before + 1


async def test_a_stream_broken_midway_is_counted_with_its_code(
    stub: image_service_pb2_grpc.ImageServiceAsyncStub,
) -> None:
    before = calls("GenerateAngles", "RESOURCE_EXHAUSTED")
    with pytest.raises(grpc.aio.AioRpcError):
        async for _ in stub.GenerateAngles(image_service_pb2.GenerateAnglesRequest(prompt="quota")):
            pass
    assert calls("GenerateAngles", "RESOURCE_EXHAUSTED") == before + 1


def test_breaker_state_is_read_when_scraped() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, reset_after=10, clock=lambda: now[0])
    watch_breaker("test-provider", breaker)

    def state() -> float | None:
        return REGISTRY.get_sample_value("photofun_breaker_state", {"provider": "test-provider"})

    assert state() == 0
    breaker.record_failure()
    assert state() == 2
    now[0] = 11
    assert state() == 1  # half-open by itself once the cool-down is over


def test_metrics_are_served_over_http() -> None:
    from devstack.processes import free_port

    port = serve_metrics(free_port(), "127.0.0.1")
    page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert page.status_code == 200
    assert "# TYPE photofun_rpc_server_handling_seconds histogram" in page.text
    assert "process_resident_memory_bytes" in page.text
    assert serve_metrics(0) == 0  # 0: no endpoint
