"""WatchConversation and WatchConversations keep two clients of one user in step, resume after
a reconnect, and show nothing of anybody else's."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import grpc

from photofun.v1 import conversation_service_pb2 as pb
from tests.conversation_svc.service import auth, expect, signer

if TYPE_CHECKING:
    from tests.conversation_svc.service import Stub

WAIT = 10.0


async def read(call: Any) -> Any:
    """The next response of a stream, or fail after WAIT seconds."""
    return await asyncio.wait_for(call.read(), WAIT)


async def open_watch(stub: Stub, user: str, conversation_id: str = "", token: str = "") -> Any:
    """Open a watch and wait for its headers (the stream is then following changes)."""
    call: Any
    if conversation_id:
        call = stub.WatchConversation(
            pb.WatchConversationRequest(conversation_id=conversation_id, resume_token=token),
            metadata=auth(user),
        )
    else:
        call = stub.WatchConversations(
            pb.WatchConversationsRequest(resume_token=token), metadata=auth(user)
        )
    await asyncio.wait_for(call.initial_metadata(), WAIT)
    return call


async def test_a_second_tab_sees_messages_created_changed_and_the_conversation_deleted(
    stub: Stub,
) -> None:
    created = await stub.CreateConversation(pb.CreateConversationRequest(), metadata=auth("alice"))
    conversation_id = created.conversation.conversation_id
    other_tab = await open_watch(stub, "alice", conversation_id)

    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="a red kite"),
        metadata=auth("alice"),
    )
    first = await read(other_tab)
    assert first.change == pb.CHANGE_TYPE_CREATED
    assert first.message_id == sent.message.message_id
    assert first.message.prompt == "a red kite"
    title = await read(other_tab)  # the first message names the conversation
    assert title.change == pb.CHANGE_TYPE_UPDATED
    assert title.conversation.title == "a red kite"
    assert not title.message_id

    await stub.CancelMessage(
        pb.CancelMessageRequest(message_id=sent.message.message_id), metadata=auth("alice")
    )
    cancelled = await read(other_tab)
    assert cancelled.change == pb.CHANGE_TYPE_UPDATED
    assert cancelled.message.status == pb.MESSAGE_STATUS_CANCELLED

    await stub.DeleteConversation(
        pb.DeleteConversationRequest(conversation_id=conversation_id), metadata=auth("alice")
    )
    gone = await read(other_tab)
    assert gone.change == pb.CHANGE_TYPE_DELETED
    assert gone.conversation.conversation_id == ""  # only ids are left of a deleted one
    assert await read(other_tab) is grpc.aio.EOF  # the stream ends with the conversation


async def test_the_list_follows_conversations_of_the_user_only(stub: Stub) -> None:
    alices = await open_watch(stub, "alice")
    bobs = await open_watch(stub, "bob")
    created = await stub.CreateConversation(
        pb.CreateConversationRequest(title="cars"), metadata=auth("alice")
    )
    conversation_id = created.conversation.conversation_id
    seen = await read(alices)
    assert seen.change == pb.CHANGE_TYPE_CREATED
    assert seen.conversation_id == conversation_id
    assert seen.conversation.title == "cars"

    await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="a blue car"),
        metadata=auth("alice"),
    )
    updated = await read(alices)  # the list shows conversations: the message bumps its row
    assert updated.change == pb.CHANGE_TYPE_UPDATED
    assert updated.conversation.message_count == 1

    await stub.DeleteConversation(
        pb.DeleteConversationRequest(conversation_id=conversation_id), metadata=auth("alice")
    )
    deleted = await read(alices)
    assert deleted.change == pb.CHANGE_TYPE_DELETED
    assert deleted.conversation_id == conversation_id

    # Bob saw none of it: his first event is his own.
    mine = await stub.CreateConversation(pb.CreateConversationRequest(), metadata=auth("bob"))
    first_of_bob = await read(bobs)
    assert first_of_bob.conversation_id == mine.conversation.conversation_id
    alices.cancel()
    bobs.cancel()


async def test_a_reconnected_watch_resumes_after_its_last_change_without_gaps(stub: Stub) -> None:
    watch = await open_watch(stub, "alice")
    first = await stub.CreateConversation(
        pb.CreateConversationRequest(title="one"), metadata=auth("alice")
    )
    seen = await read(watch)
    assert seen.conversation_id == first.conversation.conversation_id
    watch.cancel()  # the tab loses its connection ...

    missed = [
        await stub.CreateConversation(
            pb.CreateConversationRequest(title=title), metadata=auth("alice")
        )
        for title in ("two", "three")
    ]
    resumed = await open_watch(stub, "alice", token=seen.resume_token)  # ... and comes back
    got = [(await read(resumed)).conversation.title for _ in missed]
    assert got == ["two", "three"]
    resumed.cancel()


async def test_watches_refuse_what_is_not_the_callers_or_not_a_token(stub: Stub) -> None:
    created = await stub.CreateConversation(pb.CreateConversationRequest(), metadata=auth("alice"))
    conversation_id = created.conversation.conversation_id

    async def first(call: Any) -> Any:
        return await call.read()

    await expect(
        first(
            stub.WatchConversation(
                pb.WatchConversationRequest(conversation_id=conversation_id), metadata=auth("bob")
            )
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect(
        first(
            stub.WatchConversations(
                pb.WatchConversationsRequest(resume_token="not a token"), metadata=auth("alice")
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="resume_token",
    )
    # A token of the list does not resume one conversation's stream.
    watch = await open_watch(stub, "alice")
    await stub.CreateConversation(pb.CreateConversationRequest(), metadata=auth("alice"))
    token = (await read(watch)).resume_token
    watch.cancel()
    await expect(
        first(
            stub.WatchConversation(
                pb.WatchConversationRequest(conversation_id=conversation_id, resume_token=token),
                metadata=auth("alice"),
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="resume_token",
    )
    # An unsigned token (the format before tokens were signed) is not one of ours.
    unsigned = "eyJzIjoiKiIsInIiOnsiX2RhdGEiOiIwMDAwIn19"  # {"s":"*","r":{"_data":"0000"}}
    await expect(
        first(
            stub.WatchConversations(
                pb.WatchConversationsRequest(resume_token=unsigned), metadata=auth("alice")
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="resume_token",
    )
    # A well-signed token whose position the database never had cannot be resumed from.
    forged = signer().encode("changes", {"s": "*", "r": {"_data": "0000"}})
    await expect(
        first(
            stub.WatchConversations(
                pb.WatchConversationsRequest(resume_token=forged), metadata=auth("alice")
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        reason="RESUME_TOKEN_EXPIRED",
    )
