"""The worker waits as long as a busy upstream asks, within the message's retry budget.

Real parts: the MongoDB-wire server, the prompt service, the Media stand-in (behind a real HTTP
front that answers busy first); the image service is a real gRPC server scripted to be busy
once, as a provider at its rate limit is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from bson import ObjectId
from PIL import Image

from conversation_svc.model import NewMessage, Status
from conversation_svc.pipeline import Pipeline
from conversation_svc.store import Store, now
from devstack.media_server import create_app as media_app
from mesh.errors import ResourceExhausted
from photofun.v1 import common_pb2, image_service_pb2, image_service_pb2_grpc
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import StartServer
from tests.conversation_svc.service import scripted_image_service, worker_pipeline
from tests.http_servers import serve_app

CLIO = "2019 Renault Clio blue hatchback, front side rear"
ASKED = 1.5  # seconds the busy image service asks for; the pipeline's own first wait is 0.25
MEDIA_ASKED = 6  # longer than the Media client's quick tries wait: the pipeline's to wait


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, "PNG")
    return out.getvalue()


class BusyOnce(image_service_pb2_grpc.ImageServiceServicer):
    """RESOURCE_EXHAUSTED with a RetryInfo on the first call (``busy``), then every view."""

    def __init__(self, busy: bool) -> None:
        self.busy = busy
        self.calls: list[float] = []

    async def GenerateAngles(
        self, request: image_service_pb2.GenerateAnglesRequest, context: Any
    ) -> AsyncIterator[image_service_pb2.GenerateAnglesResponse]:
        self.calls.append(time.monotonic())
        if self.busy and len(self.calls) == 1:
            raise ResourceExhausted(
                "every place of the provider is taken", reason="PROVIDER_BUSY", retry_after=ASKED
            )
        for index, angle in enumerate(request.angles):
            yield image_service_pb2.GenerateAnglesResponse(
                angle=angle,
                index=index,
                total=len(request.angles),
                session_id="s1",
                image=common_pb2.Image(
                    data=_png(), mime_type="image/png", seed=7 + index, width=8, height=8
                ),
            )


def busy_front(media_url: str, answered: list[float]) -> web.Application:
    """The Media Service behind a front that answers the first upload 429 with Retry-After."""

    async def upload(request: web.Request) -> web.StreamResponse:
        answered.append(time.monotonic())
        if len(answered) == 1:
            return web.Response(status=429, headers={"Retry-After": str(MEDIA_ASKED)})
        body = await request.read()
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                media_url + request.path,
                data=body,
                headers={"Content-Type": request.headers["Content-Type"]},
            ) as answer,
        ):
            return web.Response(
                status=answer.status, body=await answer.read(), content_type="application/json"
            )

    app = web.Application()
    app.router.add_post("/api/v1/file/uploads", upload)
    return app


async def _pipeline(
    stack: contextlib.AsyncExitStack,
    start_server: StartServer,
    store: Store,
    image: BusyOnce,
    media_url: str,
) -> Pipeline:
    prompt = await start_server(
        prompt_app.build, PromptSettings(gemini_api_key=None, media_service_url="http://m")
    )
    image_server = await scripted_image_service(start_server, image)
    return await worker_pipeline(stack, store, prompt, image_server, media_url)


async def _message(store: Store) -> str:
    conversation = await store.create_conversation("alice", "")
    sent, _ = await store.insert_message(
        conversation,
        NewMessage(prompt=CLIO, request_id="req", deadline=now() + dt.timedelta(minutes=5)),
    )
    return str(sent.id)


@pytest.mark.parametrize("busy", ["image_svc", "media"])
async def test_a_busy_upstream_is_waited_for_as_long_as_it_asks_and_the_message_ends_done(
    start_server: StartServer, store: Store, tmp_path: Any, busy: str
) -> None:
    image = BusyOnce(busy=busy == "image_svc")  # type: ignore[abstract]  # only GenerateAngles
    uploads: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        media_url = await stack.enter_async_context(serve_app(media_app(tmp_path / "media")))
        if busy == "media":
            media_url = await stack.enter_async_context(serve_app(busy_front(media_url, uploads)))
        pipeline = await _pipeline(stack, start_server, store, image, media_url)
        message_id = await _message(store)
        await pipeline.run(message_id)

    stored = await store.message_by_id(ObjectId(message_id))
    assert stored is not None
    assert stored.status is Status.DONE, stored.failure
    assert len(stored.images) == 3
    if busy == "image_svc":
        assert len(image.calls) == 2
        assert image.calls[1] - image.calls[0] >= ASKED
    else:
        assert uploads[1] - uploads[0] >= MEDIA_ASKED  # not the client's quick-try waits
