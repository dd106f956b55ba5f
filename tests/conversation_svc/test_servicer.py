"""ConversationService over a real port, on a real MongoDB-wire server and Redis (no worker:
these tests are about what the service itself answers)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import grpc
import pytest

from mesh.auth import mint_token
from photofun.v1 import conversation_service_pb2 as pb
from tests.conversation_svc.service import MEDIA, StartStub, auth, expect

if TYPE_CHECKING:
    from tests.conversation_svc.service import Stub


async def new_conversation(stub: Stub, user: str = "alice", title: str = "") -> str:
    reply = await stub.CreateConversation(
        pb.CreateConversationRequest(title=title), metadata=auth(user)
    )
    return reply.conversation.conversation_id


async def test_calls_without_a_valid_token_are_unauthenticated(stub: Stub) -> None:
    request = pb.ListConversationsRequest()
    await expect(
        stub.ListConversations(request),
        grpc.StatusCode.UNAUTHENTICATED,
        reason="MISSING_CREDENTIALS",
    )
    forged = (
        ("authorization", f"Bearer {mint_token('another-secret-also-32-bytes-long!!', 'alice')}"),
    )
    await expect(
        stub.ListConversations(request, metadata=forged),
        grpc.StatusCode.UNAUTHENTICATED,
        reason="INVALID_TOKEN",
    )


async def test_send_message_returns_at_once_with_processing_and_a_request_id(stub: Stub) -> None:
    conversation_id = await new_conversation(stub)
    started = time.perf_counter()
    reply = await stub.SendMessage(
        pb.SendMessageRequest(
            conversation_id=conversation_id, prompt="  a cat on a sofa  ", style="anime"
        ),
        metadata=auth("alice"),
    )
    elapsed = time.perf_counter() - started
    message = reply.message
    assert message.status == pb.MESSAGE_STATUS_PROCESSING
    assert len(message.request_id) == 32
    assert (message.prompt, message.style) == ("a cat on a sofa", "anime")
    assert message.create_time.seconds > 0
    assert not message.HasField("finish_time")
    assert elapsed < 5  # generous: the point is that no model work happens (bench/ measures it)
    got = await stub.GetMessage(
        pb.GetMessageRequest(message_id=message.message_id), metadata=auth("alice")
    )
    assert got.message == message
    conversation = await stub.GetConversation(
        pb.GetConversationRequest(conversation_id=conversation_id), metadata=auth("alice")
    )
    assert conversation.conversation.message_count == 1
    assert conversation.conversation.title == "a cat on a sofa"


async def test_a_retried_send_with_the_same_key_returns_the_first_message(stub: Stub) -> None:
    conversation_id = await new_conversation(stub)
    request = pb.SendMessageRequest(
        conversation_id=conversation_id, prompt="hi", idempotency_key="k-1"
    )
    first = await stub.SendMessage(request, metadata=auth("alice"))
    again = await stub.SendMessage(request, metadata=auth("alice"))
    assert again.message.message_id == first.message.message_id
    assert again.message.request_id == first.message.request_id
    listed = await stub.ListMessages(
        pb.ListMessagesRequest(conversation_id=conversation_id), metadata=auth("alice")
    )
    assert len(listed.messages) == 1


async def test_a_retried_create_with_the_same_idempotency_key_returns_the_first_conversation(
    stub: Stub,
) -> None:
    def create(user: str, key: str) -> Any:
        return stub.CreateConversation(
            pb.CreateConversationRequest(title="cars", idempotency_key=key), metadata=auth(user)
        )

    first = (await create("alice", "req-c1")).conversation
    again = (await create("alice", "req-c1")).conversation
    assert again.conversation_id == first.conversation_id
    other = (await create("alice", "req-c2")).conversation
    bobs = (await create("bob", "req-c1")).conversation  # ids are per user
    assert len({first.conversation_id, other.conversation_id, bobs.conversation_id}) == 3
    listed = await stub.ListConversations(pb.ListConversationsRequest(), metadata=auth("alice"))
    assert len(listed.conversations) == 2
    await expect(
        create("alice", "r" * 129), grpc.StatusCode.INVALID_ARGUMENT, field="idempotency_key"
    )


async def test_too_many_processing_messages_is_resource_exhausted(stub: Stub) -> None:
    conversation_id = await new_conversation(stub)
    for i in range(3):
        await stub.SendMessage(
            pb.SendMessageRequest(conversation_id=conversation_id, prompt=f"picture {i}"),
            metadata=auth("alice"),
        )
    await expect(
        stub.SendMessage(
            pb.SendMessageRequest(conversation_id=conversation_id, prompt="one more"),
            metadata=auth("alice"),
        ),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        reason="TOO_MANY_PROCESSING",
    )
    other = await new_conversation(stub, "bob")
    await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=other, prompt="mine"), metadata=auth("bob")
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 2001}, "prompt"),
        ({"prompt": "\x00\x00 draw a car"}, "prompt"),  # control characters
        ({"prompt": "a car \x1b[31mred"}, "prompt"),
        ({"prompt": "a car\x7f"}, "prompt"),
        ({"prompt": "hi", "lang": "de"}, "lang"),
        ({"prompt": "hi", "style": "s" * 101}, "style"),
        ({"prompt": "hi", "idempotency_key": "k" * 129}, "idempotency_key"),
        ({"prompt": "make it anime", "image_url": "http://10.0.0.1/cat.png"}, "image_url"),
        (  # CR/LF on the Media host: stored, then INTERNAL in EditImage, before the fix
            {"prompt": "make it anime", "image_url": MEDIA + "/api/v1/files/a.png\r\nX: 1"},
            "image_url",
        ),
        ({"prompt": "make it anime", "image_url": MEDIA + "/" + "a" * 100_000}, "image_url"),
        ({"prompt": "hi", "format": 17}, "format"),
    ],
)
async def test_bad_messages_name_the_field_and_store_nothing(
    stub: Stub, fields: dict[str, Any], field: str
) -> None:
    conversation_id = await new_conversation(stub)
    await expect(
        stub.SendMessage(
            pb.SendMessageRequest(conversation_id=conversation_id, **fields), metadata=auth("alice")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field=field,
    )
    listed = await stub.ListMessages(
        pb.ListMessagesRequest(conversation_id=conversation_id), metadata=auth("alice")
    )
    assert list(listed.messages) == []


async def test_ids_are_checked_before_lookup(stub: Stub) -> None:
    await expect(
        stub.GetConversation(
            pb.GetConversationRequest(conversation_id="nope"), metadata=auth("alice")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="conversation_id",
    )
    await expect(
        stub.GetMessage(pb.GetMessageRequest(message_id="0" * 24), metadata=auth("alice")),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect(
        stub.SendMessage(
            pb.SendMessageRequest(conversation_id="f" * 24, prompt="hi"), metadata=auth("alice")
        ),
        grpc.StatusCode.NOT_FOUND,
    )


async def test_conversations_page_newest_first_and_stably(stub: Stub) -> None:
    ids = [await new_conversation(stub, title=f"c{i}") for i in range(5)]
    await expect(
        stub.ListConversations(pb.ListConversationsRequest(page_size=-1), metadata=auth("alice")),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="page_size",
    )
    await expect(
        stub.ListConversations(
            pb.ListConversationsRequest(page_token="garbage!"), metadata=auth("alice")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="page_token",
    )
    first = await stub.ListConversations(
        pb.ListConversationsRequest(page_size=2), metadata=auth("alice")
    )
    await new_conversation(stub, title="newer")  # inserts between pages must not shift them
    seen = [c.conversation_id for c in first.conversations]
    token = first.next_page_token
    while token:
        page = await stub.ListConversations(
            pb.ListConversationsRequest(page_size=2, page_token=token), metadata=auth("alice")
        )
        seen += [c.conversation_id for c in page.conversations]
        token = page.next_page_token
    assert seen == list(reversed(ids))
    huge = await stub.ListConversations(
        pb.ListConversationsRequest(page_size=10_000), metadata=auth("alice")
    )
    assert len(huge.conversations) == 6


async def test_messages_page_oldest_first(stub: Stub) -> None:
    conversation_id = await new_conversation(stub)
    sent = []
    for i in range(3):
        reply = await stub.SendMessage(
            pb.SendMessageRequest(conversation_id=conversation_id, prompt=f"m{i}"),
            metadata=auth("alice"),
        )
        sent.append(reply.message.message_id)
    first = await stub.ListMessages(
        pb.ListMessagesRequest(conversation_id=conversation_id, page_size=2), metadata=auth("alice")
    )
    second = await stub.ListMessages(
        pb.ListMessagesRequest(
            conversation_id=conversation_id, page_size=2, page_token=first.next_page_token
        ),
        metadata=auth("alice"),
    )
    assert [m.message_id for m in [*first.messages, *second.messages]] == sent
    assert second.next_page_token == ""
    other = await new_conversation(stub)
    await expect(
        stub.ListMessages(
            pb.ListMessagesRequest(conversation_id=other, page_token=first.next_page_token),
            metadata=auth("alice"),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="page_token",
    )


async def test_messages_page_newest_first_when_asked(stub: Stub) -> None:
    conversation_id = await new_conversation(stub)
    sent = []
    for i in range(3):  # the per-user cap of messages in flight
        reply = await stub.SendMessage(
            pb.SendMessageRequest(conversation_id=conversation_id, prompt=f"m{i}"),
            metadata=auth("alice"),
        )
        sent.append(reply.message.message_id)
    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListMessages(
            pb.ListMessagesRequest(
                conversation_id=conversation_id,
                page_size=1,
                page_token=token,
                order_by="create_time  DESC",  # AIP-132: case and spacing do not matter
            ),
            metadata=auth("alice"),
        )
        seen += [m.message_id for m in page.messages]
        token = page.next_page_token
        if not token:
            break
        # A token is bound to its order: the other order refuses it.
        await expect(
            stub.ListMessages(
                pb.ListMessagesRequest(conversation_id=conversation_id, page_token=token),
                metadata=auth("alice"),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="page_token",
        )
    assert seen == list(reversed(sent))


@pytest.mark.parametrize("order_by", ["update_time", "create_time sideways", "prompt desc"])
async def test_messages_refuse_an_unknown_order(stub: Stub, order_by: str) -> None:
    conversation_id = await new_conversation(stub)
    await expect(
        stub.ListMessages(
            pb.ListMessagesRequest(conversation_id=conversation_id, order_by=order_by),
            metadata=auth("alice"),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="order_by",
    )


async def test_cancel_settles_once_and_then_is_a_failed_precondition(stub: Stub) -> None:
    conversation_id = await new_conversation(stub)
    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="a castle"),
        metadata=auth("alice"),
    )
    cancelled = await stub.CancelMessage(
        pb.CancelMessageRequest(message_id=sent.message.message_id), metadata=auth("alice")
    )
    assert cancelled.message.status == pb.MESSAGE_STATUS_CANCELLED
    assert cancelled.message.failure.reason == "CANCELLED_BY_USER"
    assert cancelled.message.HasField("finish_time")
    await expect(
        stub.CancelMessage(
            pb.CancelMessageRequest(message_id=sent.message.message_id), metadata=auth("alice")
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="MESSAGE_FINISHED",
    )
    events = [
        e
        async for e in stub.WatchMessage(
            pb.WatchMessageRequest(message_id=sent.message.message_id), metadata=auth("alice")
        )
    ]
    assert [e.event for e in events] == [pb.MESSAGE_EVENT_SNAPSHOT]
    assert events[0].message.status == pb.MESSAGE_STATUS_CANCELLED


async def test_delete_removes_the_conversation_and_its_messages(stub: Stub) -> None:
    conversation_id = await new_conversation(stub)
    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="a boat"),
        metadata=auth("alice"),
    )
    await stub.DeleteConversation(
        pb.DeleteConversationRequest(conversation_id=conversation_id), metadata=auth("alice")
    )
    await expect(
        stub.GetMessage(
            pb.GetMessageRequest(message_id=sent.message.message_id), metadata=auth("alice")
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect(
        stub.DeleteConversation(
            pb.DeleteConversationRequest(conversation_id=conversation_id), metadata=auth("alice")
        ),
        grpc.StatusCode.NOT_FOUND,
    )


async def test_only_if_empty_deletes_an_empty_conversation_and_keeps_one_with_messages(
    stub: Stub,
) -> None:
    empty, used = await new_conversation(stub), await new_conversation(stub)
    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=used, prompt="a boat"), metadata=auth("alice")
    )

    def delete(conversation_id: str) -> Any:
        request = pb.DeleteConversationRequest(conversation_id=conversation_id, only_if_empty=True)
        return stub.DeleteConversation(request, metadata=auth("alice"))

    await delete(empty)
    await expect(delete(used), grpc.StatusCode.FAILED_PRECONDITION, reason="CONVERSATION_NOT_EMPTY")
    await expect(delete(empty), grpc.StatusCode.NOT_FOUND)

    kept = await stub.GetMessage(
        pb.GetMessageRequest(message_id=sent.message.message_id), metadata=auth("alice")
    )
    assert kept.message.conversation_id == used
    listed = await stub.ListConversations(pb.ListConversationsRequest(), metadata=auth("alice"))
    assert [c.conversation_id for c in listed.conversations] == [used]


async def _send_and_delete(stub: Stub, user: str, only_if_empty: bool) -> tuple[Any, Any, str]:
    """SendMessage and DeleteConversation on one conversation at the same moment; each one's
    reply or error."""
    conversation_id = await new_conversation(stub, user)
    send = stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="a boat"),
        metadata=auth(user),
    )
    delete = stub.DeleteConversation(
        pb.DeleteConversationRequest(conversation_id=conversation_id, only_if_empty=only_if_empty),
        metadata=auth(user),
    )
    sent, deleted = await asyncio.gather(send, delete, return_exceptions=True)
    return sent, deleted, conversation_id


async def test_a_message_sent_while_its_conversation_is_deleted_never_outlives_it(
    stub: Stub,
) -> None:
    # One user for every round: a slot left taken by a message deleted with its conversation
    # would soon refuse the next (at most 3 PROCESSING here).
    for _ in range(12):
        sent, deleted, _ = await _send_and_delete(stub, "racer", only_if_empty=False)
        assert isinstance(deleted, pb.DeleteConversationResponse), deleted
        if isinstance(sent, grpc.aio.AioRpcError):
            assert sent.code() == grpc.StatusCode.NOT_FOUND, sent
            continue
        await expect(
            stub.GetMessage(
                pb.GetMessageRequest(message_id=sent.message.message_id), metadata=auth("racer")
            ),
            grpc.StatusCode.NOT_FOUND,
        )


async def test_only_if_empty_never_takes_a_message_being_sent_with_it(stub: Stub) -> None:
    for round_ in range(12):
        user = f"careful-{round_}"
        sent, deleted, conversation_id = await _send_and_delete(stub, user, only_if_empty=True)
        if isinstance(deleted, grpc.aio.AioRpcError):
            # The message was counted first: it and its conversation stay.
            assert deleted.code() == grpc.StatusCode.FAILED_PRECONDITION, deleted
            assert isinstance(sent, pb.SendMessageResponse), sent
            kept = await stub.GetMessage(
                pb.GetMessageRequest(message_id=sent.message.message_id), metadata=auth(user)
            )
            assert kept.message.conversation_id == conversation_id
        else:
            # The delete came first: the message was refused, not accepted and then lost.
            assert isinstance(sent, grpc.aio.AioRpcError), sent
            assert sent.code() == grpc.StatusCode.NOT_FOUND, sent


async def test_a_watch_of_a_deleted_message_ends_with_not_found(stub: Stub) -> None:
    conversation_id = await new_conversation(stub)
    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="a boat"),
        metadata=auth("alice"),
    )
    call = stub.WatchMessage(
        pb.WatchMessageRequest(message_id=sent.message.message_id), metadata=auth("alice")
    )
    snapshot = await call.read()
    assert isinstance(snapshot, pb.WatchMessageResponse)
    assert snapshot.event == pb.MESSAGE_EVENT_SNAPSHOT
    await stub.DeleteConversation(
        pb.DeleteConversationRequest(conversation_id=conversation_id), metadata=auth("alice")
    )
    await expect(asyncio.wait_for(call.read(), 15), grpc.StatusCode.NOT_FOUND)


async def test_a_resumed_watch_of_a_quiet_message_is_open_before_its_next_change(
    stub: Stub,
) -> None:
    conversation_id = await new_conversation(stub)
    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="a quiet boat"),
        metadata=auth("alice"),
    )
    message_id = sent.message.message_id
    first = stub.WatchMessage(pb.WatchMessageRequest(message_id=message_id), metadata=auth("alice"))
    snapshot = await first.read()
    assert isinstance(snapshot, pb.WatchMessageResponse)
    first.cancel()
    # Nothing changes (no worker here): the resumed stream has no message to send, but its
    # headers arrive at once, so a client (or the gRPC-web edge) knows it is connected.
    resumed = stub.WatchMessage(
        pb.WatchMessageRequest(message_id=message_id, resume_token=snapshot.resume_token),
        metadata=auth("alice"),
    )
    try:
        await asyncio.wait_for(resumed.initial_metadata(), 5)
    finally:
        resumed.cancel()


async def test_a_message_nobody_works_on_is_failed_by_the_sweeper(start_stub: StartStub) -> None:
    stub = await start_stub(message_timeout=0.5, sweep_interval=0.2)
    conversation_id = await new_conversation(stub)
    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="no worker runs"),
        metadata=auth("alice"),
    )
    events = [
        e
        async for e in stub.WatchMessage(
            pb.WatchMessageRequest(message_id=sent.message.message_id),
            metadata=auth("alice"),
            timeout=20,
        )
    ]
    assert [e.event for e in events] == [pb.MESSAGE_EVENT_SNAPSHOT, pb.MESSAGE_EVENT_FINISHED]
    final = events[-1].message
    assert final.status == pb.MESSAGE_STATUS_FAILED
    assert final.failure.reason == "TIMED_OUT"


async def test_a_picked_result_must_be_in_the_callers_conversation(stub: Stub) -> None:
    mine = await new_conversation(stub)
    other = await new_conversation(stub)
    elsewhere = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=other, prompt="a boat"), metadata=auth("alice")
    )
    here = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=mine, prompt="a kite"), metadata=auth("alice")
    )

    def send(reference: pb.ResultReference) -> Any:
        return stub.SendMessage(
            pb.SendMessageRequest(
                conversation_id=mine, prompt="make it anime style", reference=reference
            ),
            metadata=auth("alice"),
        )

    other_id = elsewhere.message.message_id
    await expect(send(pb.ResultReference(message_id=other_id)), grpc.StatusCode.NOT_FOUND)
    await expect(send(pb.ResultReference(message_id="f" * 24)), grpc.StatusCode.NOT_FOUND)
    await expect(
        send(pb.ResultReference(message_id="nope")),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="reference.message_id",
    )
    here_id = here.message.message_id
    await expect(
        send(pb.ResultReference(message_id=here_id, image_index=-1)),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="reference.image_index",
    )
    await expect(  # it has no images (yet): there is no image 0 to pick
        send(pb.ResultReference(message_id=here_id, image_index=0)), grpc.StatusCode.NOT_FOUND
    )
    listed = await stub.ListMessages(
        pb.ListMessagesRequest(conversation_id=mine), metadata=auth("alice")
    )
    assert [m.message_id for m in listed.messages] == [here_id]  # nothing stored on refusal
    picked = await send(pb.ResultReference(message_id=here_id))
    assert picked.message.status == pb.MESSAGE_STATUS_PROCESSING


async def test_a_title_taken_from_a_long_prompt_ends_at_a_whole_word_with_an_ellipsis(
    stub: Stub,
) -> None:
    """The page sends no title: the first prompt names the conversation, cut as the CLI cuts."""
    conversation_id = await new_conversation(stub)
    prompt = "vẽ cho tôi chiếc xe Toyota Camry màu đỏ, góc trước và góc sau"
    await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt=prompt),
        metadata=auth("alice"),
    )
    conversation = await stub.GetConversation(
        pb.GetConversationRequest(conversation_id=conversation_id), metadata=auth("alice")
    )
    assert conversation.conversation.title == (
        "vẽ cho tôi chiếc xe Toyota Camry màu đỏ, góc trước và góc…"
    )
