"""``photofun_messages_total`` counts each terminal state once, where it is reached: CANCELLED
in conversation_svc itself (CancelMessage), FAILED with its reason wherever the store settles
the message. Real conversation_svc on a real port, real MongoDB-wire server and Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from bson import ObjectId
from prometheus_client import REGISTRY

from conversation_svc.model import Failure, Status
from photofun.v1 import conversation_service_pb2 as pb
from tests.conversation_svc.service import auth, expect

if TYPE_CHECKING:
    from conversation_svc.store import Store
    from tests.conversation_svc.service import Stub


def messages(outcome: str, reason: str = "") -> float:
    """``photofun_messages_total`` for ``outcome`` and ``reason``, summed over intents."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "photofun_messages"
        for sample in metric.samples
        if sample.name == "photofun_messages_total"
        and sample.labels["outcome"] == outcome
        and sample.labels["reason"] == reason
    )


async def send(stub: Stub) -> str:
    conversation = await stub.CreateConversation(
        pb.CreateConversationRequest(), metadata=auth("alice")
    )
    sent = await stub.SendMessage(
        pb.SendMessageRequest(
            conversation_id=conversation.conversation.conversation_id, prompt="a castle"
        ),
        metadata=auth("alice"),
    )
    return sent.message.message_id


async def test_cancel_message_counts_one_cancelled_message(stub: Stub) -> None:
    message_id = await send(stub)
    before = messages("CANCELLED")
    cancelled = await stub.CancelMessage(
        pb.CancelMessageRequest(message_id=message_id), metadata=auth("alice")
    )
    assert cancelled.message.status == pb.MESSAGE_STATUS_CANCELLED
    assert messages("CANCELLED") - before == 1
    # A second cancel changes nothing, so it counts nothing.
    await expect(
        stub.CancelMessage(pb.CancelMessageRequest(message_id=message_id), metadata=auth("alice")),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="MESSAGE_FINISHED",
    )
    assert messages("CANCELLED") - before == 1


async def test_a_failed_message_is_counted_with_its_reason(stub: Stub, store: Store) -> None:
    message_id = await send(stub)
    before = {r: messages("FAILED", r) for r in ("MEDIA_UNAVAILABLE", "")}
    failure = Failure("MEDIA_UNAVAILABLE", "the Media Service did not answer")
    settled = await store.finish(ObjectId(message_id), Status.FAILED, failure=failure)
    assert settled is not None
    assert messages("FAILED", "MEDIA_UNAVAILABLE") - before["MEDIA_UNAVAILABLE"] == 1
    assert messages("FAILED", "") == before[""]  # the reason is the label, never dropped
    # Settling it again is refused and not counted twice.
    assert await store.finish(ObjectId(message_id), Status.FAILED, failure=failure) is None
    assert messages("FAILED", "MEDIA_UNAVAILABLE") - before["MEDIA_UNAVAILABLE"] == 1
