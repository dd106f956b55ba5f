"""Error mapping and request ids, through a real server and the generated stubs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import pytest

from mesh.errors import (
    ErrorInfo,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
    decode_details,
)
from mesh.interceptors import status_for
from mesh.server import ServiceBinding, bind
from mesh.settings import ServerSettings
from photofun.v1 import image_service_pb2, image_service_pb2_grpc
from tests.conftest import ChannelTo, StartServer
from tests.status import details_of

ERRORS: dict[str, Exception] = {
    "bad-field": InvalidArgument("angles[1]", "duplicate angle ANGLE_SIDE"),
    "missing": NotFound("no such conversation"),
    "quota": ResourceExhausted("too many messages processing", reason="TOO_MANY_IN_FLIGHT"),
    "upstream": Unavailable("image provider down"),
    "bug": RuntimeError("secret=hunter2 in a traceback"),
}


class RaisingImageService(image_service_pb2_grpc.ImageServiceServicer):
    """A servicer whose behaviour is chosen by the prompt, to drive the real interceptor."""

    async def Generate(
        self, request: image_service_pb2.GenerateRequest, context: Any
    ) -> image_service_pb2.GenerateResponse:
        if request.prompt in ERRORS:
            raise ERRORS[request.prompt]
        if request.prompt == "with-trailers":
            context.set_trailing_metadata((("x-handler", "kept"),))
        return image_service_pb2.GenerateResponse(request_id=request.request_id)

    async def GenerateAngles(
        self, request: image_service_pb2.GenerateAnglesRequest, context: Any
    ) -> AsyncIterator[image_service_pb2.GenerateAnglesResponse]:
        yield image_service_pb2.GenerateAnglesResponse(index=0)
        raise ERRORS[request.prompt]

    async def EditImage(
        self, request: image_service_pb2.EditImageRequest, context: Any
    ) -> image_service_pb2.EditImageResponse:
        raise NotImplementedError  # what the generated base class does for unbuilt methods


async def _build(settings: Any, stack: contextlib.AsyncExitStack) -> Sequence[ServiceBinding]:
    return [
        bind(
            RaisingImageService(),
            image_service_pb2_grpc.add_ImageServiceServicer_to_server,
            "photofun.v1.ImageService",
        )
    ]


@pytest.fixture
async def stub(
    start_server: StartServer, channel_to: ChannelTo
) -> image_service_pb2_grpc.ImageServiceAsyncStub:
    server = await start_server(_build, ServerSettings())
    return image_service_pb2_grpc.ImageServiceStub(channel_to(server))


@pytest.mark.parametrize(
    ("prompt", "code", "reason", "field"),
    [
        ("bad-field", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "angles[1]"),
        ("missing", grpc.StatusCode.NOT_FOUND, "NOT_FOUND", ""),
        ("quota", grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_IN_FLIGHT", ""),
        ("upstream", grpc.StatusCode.UNAVAILABLE, "UPSTREAM_UNAVAILABLE", ""),
        ("bug", grpc.StatusCode.INTERNAL, "INTERNAL", ""),
    ],
)
async def test_domain_errors_become_their_status_with_a_reason(
    stub: image_service_pb2_grpc.ImageServiceAsyncStub,
    prompt: str,
    code: grpc.StatusCode,
    reason: str,
    field: str,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(image_service_pb2.GenerateRequest(prompt=prompt))
    got = details_of(caught.value)
    assert (got.code, got.reason, got.field) == (code, reason, field)
    assert got.request_id


async def test_unexpected_errors_never_leak_their_text(
    stub: image_service_pb2_grpc.ImageServiceAsyncStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(image_service_pb2.GenerateRequest(prompt="bug"))
    assert "hunter2" not in str(caught.value)
    assert "quote request id" in (caught.value.details() or "")


async def test_the_callers_request_id_is_echoed_in_trailers_and_errors(
    stub: image_service_pb2_grpc.ImageServiceAsyncStub,
) -> None:
    call = stub.Generate(
        image_service_pb2.GenerateRequest(prompt="ok"), metadata=(("x-request-id", "req-42"),)
    )
    await call
    assert ("x-request-id", "req-42") in tuple(await call.trailing_metadata())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(
            image_service_pb2.GenerateRequest(prompt="missing"),
            metadata=(("x-request-id", "req-43"),),
        )
    assert details_of(caught.value).request_id == "req-43"


async def test_an_error_after_the_first_streamed_message_keeps_its_code(
    stub: image_service_pb2_grpc.ImageServiceAsyncStub,
) -> None:
    call = stub.GenerateAngles(image_service_pb2.GenerateAnglesRequest(prompt="upstream"))
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for item in call:
            received.append(item)
    assert len(received) == 1
    assert details_of(caught.value).code == grpc.StatusCode.UNAVAILABLE


async def test_methods_not_built_yet_answer_unimplemented(
    stub: image_service_pb2_grpc.ImageServiceAsyncStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.EditImage(image_service_pb2.EditImageRequest())
    got = details_of(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.UNIMPLEMENTED, "UNIMPLEMENTED")


async def test_the_request_id_is_added_to_the_handlers_trailers_not_instead_of_them(
    stub: image_service_pb2_grpc.ImageServiceAsyncStub,
) -> None:
    call = stub.Generate(
        image_service_pb2.GenerateRequest(prompt="with-trailers"),
        metadata=(("x-request-id", "req-trail"),),
    )
    await call
    trailers = dict(await call.trailing_metadata() or ())
    assert trailers["x-handler"] == "kept"
    assert trailers["x-request-id"] == "req-trail"


def test_garbled_status_details_read_as_empty_rather_than_failing() -> None:
    assert decode_details(b"\xff\xff") == ErrorInfo()
    assert decode_details(b"") == ErrorInfo()


def _details(status: Any) -> bytes:
    raw = dict(status.trailing_metadata)["grpc-status-details-bin"]
    assert isinstance(raw, bytes)
    return raw


def test_a_retry_hint_travels_as_retry_info() -> None:
    busy = ResourceExhausted("busy", reason="PROVIDER_BUSY", retry_after=2.5)
    info = decode_details(_details(status_for(busy, "req-1")))
    assert (info.reason, info.retry_delay) == ("PROVIDER_BUSY", 2.5)
    plain = status_for(ResourceExhausted("full"), "req-2")
    assert decode_details(_details(plain)).retry_delay is None
