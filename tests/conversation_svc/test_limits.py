"""Every prompt SendMessage accepts can end DONE: the three services' limits agree
(mesh.limits), and what is derived from a prompt is cut to fit the next service.

Real parts: conversation_svc on a real port (SendMessage accepts the prompt), then the real
pipeline in this process against the real prompt service (local analyser), image service
(procedural renderer) and the Media stand-in."""

from __future__ import annotations

import pytest

from conversation_svc.model import Status
from conversation_svc.pipeline import Pipeline
from conversation_svc.store import Store
from mesh.limits import MAX_PROMPT_CHARS
from photofun.v1 import conversation_service_pb2 as pb
from tests.conversation_svc.service import StartStub, auth

LONG_PROMPTS = [
    # 705 characters: its subject was 700, over image_svc's 500.
    "draw " + "a very very big fluffy orange cat, " * 20,
    # 2000 code points that NFKC turns into 36 000 (U+FDFA is an 18-letter ligature).
    "\ufdfa" * MAX_PROMPT_CHARS,
    "2019 Renault Clio " + "blue " * 380 + "front side rear",
    "make it anime style " + "x" * (MAX_PROMPT_CHARS - 20),
    "a car from the year 3000, front side rear",
    "\u200b\u200b\u200b",  # nothing but zero-width spaces
]


@pytest.mark.parametrize("prompt", LONG_PROMPTS, ids=range(len(LONG_PROMPTS)))
async def test_every_prompt_send_message_accepts_ends_done(
    start_stub: StartStub, store: Store, pipeline: Pipeline, prompt: str
) -> None:
    stub = await start_stub()
    conversation = await stub.CreateConversation(
        pb.CreateConversationRequest(), metadata=auth("alice")
    )
    sent = await stub.SendMessage(
        pb.SendMessageRequest(
            conversation_id=conversation.conversation.conversation_id, prompt=prompt
        ),
        metadata=auth("alice"),
    )
    assert sent.message.status == pb.MESSAGE_STATUS_PROCESSING

    await pipeline.run(sent.message.message_id)

    done = await store.message_by_id(sent.message.message_id)
    assert done is not None
    assert done.status is Status.DONE, done.failure
    assert done.analysis is not None
    assert len(done.analysis.subject.text) <= 500
