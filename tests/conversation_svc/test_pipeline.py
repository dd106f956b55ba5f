"""The worker's pipeline against an image service whose views fail one by one.

Real parts: the MongoDB-wire server, the prompt service, the Media stand-in; the image service
is a real gRPC server scripted to fail the side view (a provider outage for one angle), which
the real one only does when a provider breaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image

from conversation_svc import convert
from conversation_svc.model import NewMessage, Status
from conversation_svc.pipeline import Pipeline
from conversation_svc.store import Store, now
from devstack.media_server import create_app as media_app
from mesh.i18n import replies
from photofun.v1 import common_pb2, image_service_pb2, image_service_pb2_grpc
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import StartServer
from tests.conversation_svc.service import scripted_image_service, worker_pipeline
from tests.http_servers import serve_app

CLIO = "2019 Renault Clio blue hatchback, front side rear"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, "PNG")
    return out.getvalue()


class SideFails(image_service_pb2_grpc.ImageServiceServicer):
    """Front and rear are drawn; the side view's provider is down (unless ``side_fails`` is
    set False)."""

    side_fails = True
    gap = 0.0  # seconds between two views

    async def GenerateAngles(
        self, request: image_service_pb2.GenerateAnglesRequest, context: Any
    ) -> AsyncIterator[image_service_pb2.GenerateAnglesResponse]:
        for index, angle in enumerate(request.angles):
            if index and self.gap:
                await asyncio.sleep(self.gap)
            view = image_service_pb2.GenerateAnglesResponse(
                angle=angle, index=index, total=len(request.angles), session_id="s1"
            )
            if angle == common_pb2.ANGLE_SIDE and self.side_fails:
                view.error.CopyFrom(
                    common_pb2.Failure(
                        reason="PROVIDER_UNAVAILABLE", message="every provider failed the side view"
                    )
                )
            else:
                view.image.CopyFrom(
                    common_pb2.Image(
                        data=_png(), mime_type="image/png", seed=7 + index, width=8, height=8
                    )
                )
            yield view


@pytest.fixture
def scripted() -> SideFails:
    return SideFails()  # type: ignore[abstract]  # only GenerateAngles is called


@pytest.fixture
async def pipeline(
    start_server: StartServer, store: Store, tmp_path: Any, scripted: SideFails
) -> AsyncIterator[Pipeline]:
    prompt = await start_server(
        prompt_app.build, PromptSettings(gemini_api_key=None, media_service_url="http://m")
    )
    image = await scripted_image_service(start_server, scripted)
    async with contextlib.AsyncExitStack() as stack:
        media_url = await stack.enter_async_context(serve_app(media_app(tmp_path / "media")))
        yield await worker_pipeline(stack, store, prompt, image, media_url)


@pytest.mark.parametrize(("gap", "writes"), [(0.0, range(1, 3)), (0.3, range(3, 4))])
async def test_views_are_stored_as_they_arrive_and_the_last_write_ends_the_message(
    pipeline: Pipeline, store: Store, scripted: SideFails, gap: float, writes: range
) -> None:
    """Views that arrive apart are stored one write each; views that arrive together share
    writes (the first is stored at once, those that came meanwhile in the next write); the
    write of the last views ends the message DONE."""
    scripted.side_fails, scripted.gap = False, gap
    conversation = await store.create_conversation("alice", "")
    sent, _ = await store.insert_message(
        conversation,
        NewMessage(prompt=CLIO, request_id="req-all", deadline=now() + dt.timedelta(minutes=5)),
    )
    async with await store.messages.watch([{"$match": {"documentKey._id": sent.id}}]) as changes:
        await pipeline.run(str(sent.id))
        updates = []
        async for change in changes:
            updates.append(change["updateDescription"]["updatedFields"])
            if "status" in updates[-1]:
                break

    analysis, *views = updates
    assert "intent" in analysis
    assert len(views) in writes  # and none more to end the message
    assert all("status" not in v for v in views[:-1])
    assert views[-1]["status"] == "DONE"
    stored = await store.message_by_id(sent.id)
    assert stored is not None
    assert [i.angle for i in stored.images] == ["front", "side", "rear"]
    assert [i.is_main for i in stored.images] == [True, False, False]
    assert stored.failed_views == ()
    # Live views got an event a write, all stored by the time the run ended (the final event
    # waits for the earlier ones, which are stored while the worker goes on).
    events = await store.events.find({"message_id": sent.id}).to_list()
    assert [e["change"] for e in events] == ["CREATED"] + ["UPDATED"] * (1 + len(views))


async def test_a_failed_view_is_named_with_its_reason_and_the_others_finish(
    pipeline: Pipeline, store: Store
) -> None:
    conversation = await store.create_conversation("alice", "")
    sent, _ = await store.insert_message(
        conversation,
        NewMessage(prompt=CLIO, request_id="req-side", deadline=now() + dt.timedelta(minutes=5)),
    )
    await pipeline.run(str(sent.id))

    stored = await store.message_by_id(sent.id)
    assert stored is not None
    message = convert.message(stored)
    assert stored.status is Status.DONE
    assert {i.angle for i in message.images} == {common_pb2.ANGLE_FRONT, common_pb2.ANGLE_REAR}
    (failed,) = message.failed_views
    assert failed.angle == common_pb2.ANGLE_SIDE
    assert failed.failure.reason == "PROVIDER_UNAVAILABLE"
    # Said by its reason, in the message's language: not in the image service's own words.
    assert failed.failure.message == replies("failure.reason.PROVIDER_UNAVAILABLE", "en")
    assert "SIDE" in message.reply.upper()  # the reply says so in words too


@pytest.mark.parametrize(
    ("prompt", "lang"),
    [
        ("Renault Clio 2019 màu xanh, nhìn từ phía trước, bên hông và phía sau", "vi"),
        ("Renault Clio 2019 синій, спереду, збоку і ззаду", "uk"),
    ],
)
async def test_the_note_on_a_failed_view_is_in_the_language_of_the_message(
    pipeline: Pipeline, store: Store, prompt: str, lang: str
) -> None:
    conversation = await store.create_conversation("alice", "")
    sent, _ = await store.insert_message(
        conversation,
        NewMessage(prompt=prompt, request_id="req-side", deadline=now() + dt.timedelta(minutes=5)),
    )
    await pipeline.run(str(sent.id))

    stored = await store.message_by_id(sent.id)
    assert stored is not None
    assert stored.status is Status.DONE
    assert stored.analysis is not None
    assert stored.analysis.lang == lang
    side = replies("angle.side", lang)
    assert stored.reply == replies("note.views_failed", lang, views=side)
    assert side not in replies("note.views_failed", "en", views=replies("angle.side", "en"))
