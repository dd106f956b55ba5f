"""SendMessage's per-user rate limit (mesh.ratelimit, the ``messages`` bucket) on a real
conversation_svc, MongoDB-wire server and Redis: each message is model work."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest

from mesh.errors import error_info
from photofun.v1 import conversation_service_pb2 as pb
from tests.conversation_svc.service import StartStub, auth
from tests.status import details_of


async def test_send_message_is_limited_per_user(start_stub: StartStub, redis_url: str) -> None:
    stub = await start_stub(
        rate_limit_redis_url=redis_url,
        rate_limit_messages_burst=1,
        rate_limit_messages_per_minute=1.0,
    )
    user = f"u-{uuid.uuid4().hex[:8]}"  # a bucket of its own: the Redis is the session's
    created = await stub.CreateConversation(pb.CreateConversationRequest(), metadata=auth(user))
    conversation_id = created.conversation.conversation_id

    def send(prompt: str, who: str = user) -> Any:
        request = pb.SendMessageRequest(conversation_id=conversation_id, prompt=prompt)
        return stub.SendMessage(request, metadata=auth(who))

    await send("a cat on a sofa")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await send("a dog on a sofa")
    got = details_of(caught.value)
    assert (got.code, got.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")
    assert "too many messages requests" in got.message
    assert "1 a minute (bursts of 1)" in got.message
    retry = error_info(caught.value).retry_delay
    assert retry is not None
    assert 0 < retry <= 60
    # Not stored: the refused message never reached the handler.
    listed = await stub.ListMessages(
        pb.ListMessagesRequest(conversation_id=conversation_id), metadata=auth(user)
    )
    assert [m.prompt for m in listed.messages] == ["a cat on a sofa"]
    # Reading is not limited, and another user has a bucket of their own (their SendMessage
    # gets past the limit to the handler, which finds no such conversation of theirs).
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await send("mine", who=f"u-{uuid.uuid4().hex[:8]}")
    assert other.value.code() is grpc.StatusCode.NOT_FOUND
