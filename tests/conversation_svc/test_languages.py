"""The pipeline, the sweeper and CancelMessage say what they say in the language of the message.

Real parts: the MongoDB-wire server, the prompt service (local analyser), the image service and
the Media stand-in of ``conftest.pipeline``; a prompt service that is not there is a port
nothing listens on.
"""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest

from conversation_svc.model import Conversation, Message, NewMessage, Status
from conversation_svc.pipeline import Limits, Pipeline
from conversation_svc.store import Store, now
from conversation_svc.sweeper import sweep_once
from conversation_svc.words import view_name
from mesh.i18n import replies
from mesh.media import MediaClient
from mesh.retry import Backoff
from photofun.v1 import image_service_pb2_grpc
from photofun.v1 import prompt_service_pb2_grpc as prompt_grpc

Run = Callable[..., Awaitable[Message]]


@pytest.fixture
async def conversation(store: Store) -> Conversation:
    return await store.create_conversation("alice", "")


def new(prompt: str, **fields: Any) -> NewMessage:
    deadline = fields.pop("deadline", now() + dt.timedelta(minutes=5))
    request_id = f"req-{uuid.uuid4().hex}"
    return NewMessage(prompt=prompt, request_id=request_id, deadline=deadline, **fields)


@pytest.mark.parametrize(
    ("prompt", "lang"),
    [("thêm một phiên bản nữa", "vi"), ("ще один варіант", "uk"), ("another one", "en")],
)
async def test_nothing_to_vary_is_said_in_the_language_of_the_message(
    pipeline: Pipeline, store: Store, conversation: Conversation, prompt: str, lang: str
) -> None:
    sent, _ = await store.insert_message(conversation, new(prompt, variation_requested=True))
    await pipeline.run(str(sent.id))

    done = await store.message_by_id(sent.id)
    assert done is not None
    assert done.status is Status.DONE
    assert done.reply == replies("reply.nothing_to_vary", lang)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("prompt", "lang", "expected"),
    [
        ("намалюй кота", "", "uk"),  # no analysis came: the script of the prompt decides
        ("vẽ một con mèo", "", "vi"),
        ("a cat", "vi", "vi"),  # the language the sender set
        ("a cat", "", "en"),
    ],
)
async def test_a_failure_is_worded_in_the_language_of_the_message(
    store: Store, conversation: Conversation, prompt: str, lang: str, expected: str
) -> None:
    nowhere = grpc.aio.insecure_channel(f"127.0.0.1:{_free_port()}")
    media = MediaClient("http://127.0.0.1:9")
    pipeline = Pipeline(
        store,
        prompt_grpc.PromptServiceStub(nowhere),
        image_service_pb2_grpc.ImageServiceStub(nowhere),
        media,
        Limits(
            prompt_timeout=2.0,
            retry=Backoff(attempts=2, first=0.01, jitter=0.0),
            retry_budget=0.5,
        ),
    )
    try:
        sent, _ = await store.insert_message(conversation, new(prompt, lang=lang))
        await pipeline.run(str(sent.id))
    finally:
        await nowhere.close()
        await media.aclose()

    failed = await store.message_by_id(sent.id)
    assert failed is not None
    assert failed.status is Status.FAILED
    assert failed.failure is not None
    assert failed.failure.reason == "PROMPT_SERVICE_UNAVAILABLE"
    service = replies("service.PROMPT_SERVICE", expected)
    words = replies("failure.unavailable", expected, service=service, code="UNAVAILABLE")
    assert failed.failure.message == words


async def test_the_sweeper_says_timed_out_in_the_language_of_the_message(
    store: Store, conversation: Conversation
) -> None:
    past = now() - dt.timedelta(seconds=1)
    sent, _ = await store.insert_message(conversation, new("прибери фон", deadline=past))
    assert await sweep_once(store) == 1

    settled = await store.message_by_id(sent.id)
    assert settled is not None
    assert settled.failure is not None
    assert settled.failure.message == replies("failure.timed_out", "uk")


def test_a_view_this_version_has_no_words_for_keeps_its_name() -> None:
    at = now()
    message = Message.from_doc(
        {"_id": "0" * 24, "conversation_id": "c", "prompt": "xóa phông nền", "create_time": at}
    )
    assert view_name("side", message) == replies("angle.side", "vi")
    assert view_name("underside", message) == "underside"
    assert view_name("", message) == "?"
