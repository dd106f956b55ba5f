"""End to end over real processes: MongoDB-wire server, Redis, the Media stand-in, the three
services and a Celery worker. Gemini is configured but unreachable throughout, so every message
also proves that the local fallback answers."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable

import grpc
import httpx
import pytest
from PIL import ExifTags, Image

from devstack.running import RunningStack
from photofun.v1 import common_pb2
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc as rpc
from tests.e2e.stacks import auth, own_stack
from tests.status import details_of

pytestmark = pytest.mark.asyncio(loop_scope="module")
CLIO = "2019 Renault Clio blue hatchback, front side rear"


# Its own stack: tests here stop image_svc and kill the worker.
stack = own_stack(
    {
        "GEMINI_API_KEY": "configured-but-unreachable",
        "GEMINI_BASE_URL": "http://127.0.0.1:9",
        "IMAGE_SVC_MOCK_LATENCY": "0.3",
        "IMAGE_SVC_RENDER_WORKERS": "1",
        "CONVERSATION_SVC_VISIBILITY_TIMEOUT": "6",
        "CONVERSATION_SVC_IMAGE_TIMEOUT": "20",
        "CONVERSATION_SVC_SWEEP_INTERVAL": "1",
        "CONVERSATION_SVC_LEASE_TTL": "3",
        # An outage longer than this fails the message (the default outlasts a restart).
        "CONVERSATION_SVC_RETRY_BUDGET": "3",
    }
)


async def send(channel: grpc.aio.Channel, user: str, prompt: str) -> pb.Message:
    stub = rpc.ConversationServiceStub(channel)
    conversation = (
        await stub.CreateConversation(pb.CreateConversationRequest(), metadata=auth(user))
    ).conversation
    reply = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation.conversation_id, prompt=prompt),
        metadata=auth(user),
    )
    return reply.message


async def watch_to_end(
    channel: grpc.aio.Channel, user: str, message_id: str, timeout: float = 60
) -> list[pb.WatchMessageResponse]:
    stub = rpc.ConversationServiceStub(channel)
    events: list[pb.WatchMessageResponse] = []

    async def collect() -> None:
        async for event in stub.WatchMessage(
            pb.WatchMessageRequest(message_id=message_id), metadata=auth(user)
        ):
            events.append(event)

    await asyncio.wait_for(collect(), timeout)
    return events


async def test_the_clio_message_streams_three_views_of_one_car(
    stack: RunningStack, channel: grpc.aio.Channel
) -> None:
    sent = await send(channel, "alice", CLIO)
    assert sent.status == pb.MESSAGE_STATUS_PROCESSING
    assert sent.request_id
    events = await watch_to_end(channel, "alice", sent.message_id)
    kinds = [e.event for e in events]
    assert kinds[0] == pb.MESSAGE_EVENT_SNAPSHOT
    assert kinds[-1] == pb.MESSAGE_EVENT_FINISHED
    assert pb.MESSAGE_EVENT_IMAGE_ADDED in kinds
    final = events[-1].message
    assert final.status == pb.MESSAGE_STATUS_DONE, final.failure
    assert final.intent == common_pb2.INTENT_GENERATE_ANGLES
    assert final.expected_image_count == 3
    assert list(final.expected_angles) == [
        common_pb2.ANGLE_FRONT,
        common_pb2.ANGLE_SIDE,
        common_pb2.ANGLE_REAR,
    ]
    assert "Renault" in final.refined_prompt
    assert {i.angle for i in final.images} == {
        common_pb2.ANGLE_FRONT,
        common_pb2.ANGLE_SIDE,
        common_pb2.ANGLE_REAR,
    }
    assert len({i.seed for i in final.images}) == 3
    assert len({i.session_id for i in final.images}) == 1
    assert [i.is_main for i in final.images if i.angle == common_pb2.ANGLE_FRONT] == [True]
    async with httpx.AsyncClient() as http:
        for image in final.images:
            got = await http.get(image.image_url)
            assert got.status_code == 200
            assert got.headers["content-type"] == image.mime_type == "image/png"
            assert len(got.content) == image.size_bytes
    versions = [e.message.update_time.ToNanoseconds() for e in events]
    assert versions == sorted(versions)


async def test_a_watch_resumes_after_a_reconnect_without_repeats(
    stack: RunningStack, channel: grpc.aio.Channel
) -> None:
    sent = await send(channel, "alice", "a red fox in a snowy forest at dawn")
    stub = rpc.ConversationServiceStub(channel)
    first = stub.WatchMessage(
        pb.WatchMessageRequest(message_id=sent.message_id), metadata=auth("alice")
    )
    snapshot = await first.read()
    assert isinstance(snapshot, pb.WatchMessageResponse)
    first.cancel()  # the client drops
    rest = [
        e
        async for e in stub.WatchMessage(
            pb.WatchMessageRequest(message_id=sent.message_id, resume_token=snapshot.resume_token),
            metadata=auth("alice"),
        )
    ]
    assert rest, "the resumed watch delivered the changes after the snapshot"
    assert pb.MESSAGE_EVENT_SNAPSHOT not in [e.event for e in rest]
    tokens = [snapshot.resume_token, *(e.resume_token for e in rest)]
    assert len(tokens) == len(set(tokens))
    assert rest[-1].message.status == pb.MESSAGE_STATUS_DONE
    assert len(rest[-1].message.images) == 1
    again = [
        e
        async for e in stub.WatchMessage(
            pb.WatchMessageRequest(message_id=sent.message_id, resume_token=rest[-1].resume_token),
            metadata=auth("alice"),
        )
    ]
    assert again == []  # nothing after the final change


async def test_another_user_cannot_see_watch_cancel_or_delete(
    stack: RunningStack, channel: grpc.aio.Channel
) -> None:
    stub = rpc.ConversationServiceStub(channel)
    sent = await send(channel, "alice", "hello there!")
    calls: list[Awaitable[object]] = [
        stub.GetConversation(
            pb.GetConversationRequest(conversation_id=sent.conversation_id), metadata=auth("bob")
        ),
        stub.GetMessage(pb.GetMessageRequest(message_id=sent.message_id), metadata=auth("bob")),
        stub.ListMessages(
            pb.ListMessagesRequest(conversation_id=sent.conversation_id), metadata=auth("bob")
        ),
        stub.CancelMessage(
            pb.CancelMessageRequest(message_id=sent.message_id), metadata=auth("bob")
        ),
        stub.DeleteConversation(
            pb.DeleteConversationRequest(conversation_id=sent.conversation_id), metadata=auth("bob")
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert details_of(caught.value).code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await watch_to_end(channel, "bob", sent.message_id)
    assert details_of(caught.value).code == grpc.StatusCode.NOT_FOUND
    listed = await stub.ListConversations(pb.ListConversationsRequest(), metadata=auth("bob"))
    assert sent.conversation_id not in [c.conversation_id for c in listed.conversations]
    events = await watch_to_end(channel, "alice", sent.message_id)
    assert events[-1].message.intent == common_pb2.INTENT_CHAT
    assert events[-1].message.reply


async def test_a_killed_worker_still_finishes_the_message_without_duplicates(
    stack: RunningStack, channel: grpc.aio.Channel
) -> None:
    stub = rpc.ConversationServiceStub(channel)
    sent = await send(
        channel,
        "carol",
        "BMW X5 2022 black suv: front, front three-quarter, side, rear three-quarter, rear",
    )
    watch = stub.WatchMessage(
        pb.WatchMessageRequest(message_id=sent.message_id), metadata=auth("carol")
    )
    async for event in watch:
        if event.event == pb.MESSAGE_EVENT_IMAGE_ADDED:
            break  # mid-task: some views stored, others still being made
    watch.cancel()
    stack.kill("celery worker")
    await stack.restart("celery worker")
    events = await watch_to_end(channel, "carol", sent.message_id, timeout=90)
    final = events[-1].message
    assert final.status == pb.MESSAGE_STATUS_DONE, final.failure
    angles = [i.angle for i in final.images]
    assert len(angles) == 5
    assert len(set(angles)) == 5, "no view was stored twice"


async def test_image_service_down_fails_with_a_readable_reason(
    stack: RunningStack, channel: grpc.aio.Channel
) -> None:
    stack.children["image_svc"].stop()
    try:
        sent = await send(channel, "dave", "a watercolor lighthouse on a cliff")
        events = await watch_to_end(channel, "dave", sent.message_id, timeout=90)
        final = events[-1].message
        assert final.status == pb.MESSAGE_STATUS_FAILED
        assert final.failure.reason == "IMAGE_SERVICE_UNAVAILABLE"
        assert "image service" in final.failure.message
        assert final.intent == common_pb2.INTENT_GENERATE_IMAGE  # analysed before the failure
    finally:
        with contextlib.suppress(Exception):
            await stack.restart("image_svc")
    # Back again, it serves the very next message: the worker's channel reconnects at once
    # rather than after gRPC's default backoff (up to 120 s) that built up during the outage.
    again = await send(channel, "dave", "a watercolor lighthouse on a cliff")
    final = (await watch_to_end(channel, "dave", again.message_id))[-1].message
    assert final.status == pb.MESSAGE_STATUS_DONE, final.failure


async def test_an_uploaded_photo_is_edited_without_its_exif(
    stack: RunningStack, channel: grpc.aio.Channel
) -> None:
    # A phone photo: EXIF with a GPS position, taken with the camera turned (orientation 6).
    photo = Image.new("RGB", (96, 64), (40, 160, 60))
    photo.paste((230, 230, 230), (0, 0, 96, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (48.0, 51.0, 24.0)}
    raw = io.BytesIO()
    photo.save(raw, "JPEG", quality=90, exif=exif)
    stub = rpc.ConversationServiceStub(channel)
    uploaded = await stub.UploadImage(
        pb.UploadImageRequest(data=raw.getvalue(), filename="IMG_0420.JPG"), metadata=auth("uma")
    )
    assert (uploaded.width, uploaded.height) == (64, 96)  # turned upright

    conversation = (
        await stub.CreateConversation(pb.CreateConversationRequest(), metadata=auth("uma"))
    ).conversation
    sent = await stub.SendMessage(
        pb.SendMessageRequest(
            conversation_id=conversation.conversation_id,
            prompt="remove the background",
            image_url=uploaded.image_url,
        ),
        metadata=auth("uma"),
    )
    final = (await watch_to_end(channel, "uma", sent.message.message_id))[-1].message

    assert final.status == pb.MESSAGE_STATUS_DONE, final.failure
    assert final.intent == common_pb2.INTENT_EDIT_BACKGROUND
    assert final.input_image_url == uploaded.image_url
    (image,) = final.images
    async with httpx.AsyncClient() as http:
        stored, edited = [
            (await http.get(url)).content for url in (uploaded.image_url, image.image_url)
        ]
    assert not Image.open(io.BytesIO(stored)).getexif()
    assert Image.open(io.BytesIO(edited)).size == (64, 96)
