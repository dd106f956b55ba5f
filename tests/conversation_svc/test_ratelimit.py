"""SendMessage's per-user rate limit (mesh.ratelimit, the ``messages`` bucket) on a real
conversation_svc, MongoDB-wire server and Redis: each message is model work."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest

from mesh.errors import error_info
from photofun.v1 import conversation_service_pb2 as pb
from tests.conversation_svc.service import StartStub, auth
from tests.status import details_of
from tests.web.page_errors import describe_on_page


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
    assert "too many requests: the limit for messages is 1 a minute (bursts of 1)" in got.message
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


async def test_the_page_words_a_rate_limited_send_with_its_wait_in_its_language(
    start_stub: StartStub, redis_url: str
) -> None:
    """The status a real SendMessage refusal carries, read as the page reads a gRPC-web
    trailer and worded by web/src/errors.ts: vi and uk by the reason, with the RetryInfo's
    wait; English keeps the server's words, which name the limit and the wait."""
    stub = await start_stub(
        rate_limit_redis_url=redis_url,
        rate_limit_messages_burst=1,
        rate_limit_messages_per_minute=1.0,
    )
    user = f"u-{uuid.uuid4().hex[:8]}"
    created = await stub.CreateConversation(pb.CreateConversationRequest(), metadata=auth(user))
    request = pb.SendMessageRequest(
        conversation_id=created.conversation.conversation_id, prompt="a cat"
    )
    await stub.SendMessage(request, metadata=auth(user))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SendMessage(request, metadata=auth(user))

    catalogues = {lang: _page_words(lang) for lang in ("en", "vi", "uk")}
    english = describe_on_page(caught.value, "en")
    assert english["reason"] == "RATE_LIMITED"
    assert english["message"].startswith("Too many requests: the limit for messages is 1 a minute")
    wait = re.search(r"try again in (\d+) s", english["message"])
    assert wait is not None
    assert 55 <= int(wait.group(1)) <= 60
    assert english["hint"] == ""
    for lang in ("vi", "uk"):
        said = describe_on_page(caught.value, lang)
        words = catalogues[lang]
        assert said["reason"] == "RATE_LIMITED"
        assert said["status"] == words["code.resourceExhausted"]
        worded = [
            words["reason.rateLimited"] + words["reason.retryIn"].replace("{seconds}", str(s))
            for s in range(55, 61)
        ]
        assert said["message"] in worded, said
        assert said["hint"] == ""  # the wait is the advice; not "wait for a picture to finish"


def _page_words(lang: str) -> dict[str, str]:
    path = Path(__file__).resolve().parents[2] / "web" / "src" / "locales" / f"{lang}.json"
    words: dict[str, str] = json.loads(path.read_text("utf-8"))
    return words
