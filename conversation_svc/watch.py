"""Live streams: WatchMessage (one message, resumable by version) and WatchConversation(s)
(a conversation's, or the user's list's, changes from the live-sync outbox).

WatchMessage:

The change stream is opened *before* the current state is read, so no change can fall between
the two. Every update increments the message's ``version``; the stream sends only versions it
has not sent, and a resume token is just (message, version): a reconnecting client gets every
change after the one it saw, merged into the latest state, and never one twice — even when the
database's change history has been trimmed meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from bson import ObjectId
from pymongo.errors import OperationFailure

from conversation_svc.model import Conversation, Message
from conversation_svc.store import Event, Store, object_id
from mesh.errors import FailedPrecondition, InvalidArgument, NotFound
from photofun.v1 import conversation_service_pb2 as pb


@dataclass(frozen=True)
class Change:
    """One event of a watched message."""

    event: pb.MessageEvent.ValueType
    message: Message
    resume_token: str


def classify(before: Message | None, after: Message) -> pb.MessageEvent.ValueType:
    """Name what changed between two states of a message."""
    if after.terminal:
        return pb.MESSAGE_EVENT_FINISHED
    if before is None:
        return pb.MESSAGE_EVENT_UPDATED
    if len(after.images) > len(before.images):
        return pb.MESSAGE_EVENT_IMAGE_ADDED
    if after.intent and not before.intent:
        return pb.MESSAGE_EVENT_ANALYZED
    return pb.MESSAGE_EVENT_UPDATED


async def watch(
    store: Store,
    owner: str,
    message_id: str,
    token: str,
    opened: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[Change]:
    """Yield the message's state, then each change, until it is terminal. ``opened`` runs once
    the change stream is open (the servicer sends the response headers then, so a resumed
    watch of a quiet message is visibly open before its next change)."""
    oid = object_id(message_id, "message_id")
    async with store.watch_message(oid) as changes:
        # One read, after subscribing: the ownership check (NOT_FOUND for others) and the state.
        current = await store.message(owner, message_id)
        seen = 0
        if token:
            value = store.tokens.decode("message", token, "resume_token")
            version = value.get("v")
            if value.get("m") != message_id or type(version) is not int or version < 1:
                raise InvalidArgument("resume_token", "is not a token of this message")
            seen = version
        if seen > current.version:
            # Versions only grow: a token from the future was never issued for this message.
            raise InvalidArgument("resume_token", "is not a token of this message")
        if opened is not None:
            await opened()
        sent: Message | None = None
        if current.version > seen:
            event = classify(None, current) if token else pb.MESSAGE_EVENT_SNAPSHOT
            if current.terminal:
                event = pb.MESSAGE_EVENT_FINISHED if token else pb.MESSAGE_EVENT_SNAPSHOT
            yield Change(event, current, _token(store, message_id, current))
            sent, seen = current, current.version
        if current.terminal:
            return
        async for state in changes:
            if state is None:
                raise NotFound(f"message {message_id} was deleted")
            if state.version <= seen:
                continue  # already sent (the stream returns the latest state)
            yield Change(classify(sent, state), state, _token(store, message_id, state))
            sent, seen = state, state.version
            if state.terminal:
                return


def _token(store: Store, message_id: str, message: Message) -> str:
    return store.tokens.encode("message", {"m": message_id, "v": message.version})


@dataclass(frozen=True)
class ListChange:
    """One change of a conversation or of one of its messages, for a live view."""

    change: pb.ChangeType.ValueType
    resume_token: str
    conversation_id: str
    message_id: str = ""  # empty when the conversation itself changed
    message: Message | None = None
    conversation: Conversation | None = None


_CHANGES = {
    "CREATED": pb.CHANGE_TYPE_CREATED,
    "UPDATED": pb.CHANGE_TYPE_UPDATED,
    "DELETED": pb.CHANGE_TYPE_DELETED,
}


async def watch_changes(
    store: Store,
    owner: str,
    conversation_id: str | None,
    token: str,
    opened: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[ListChange]:
    """Yield the owner's changes — of one conversation (its messages and itself), or of the
    list of conversations when ``conversation_id`` is None — as they happen, starting after
    ``token`` when given. A conversation's stream ends once it is deleted."""
    scope = conversation_id or "*"
    oid: ObjectId | None = None
    if conversation_id is not None:
        oid = (await store.conversation(owner, conversation_id)).id  # NOT_FOUND for others
    resume = None
    if token:
        value = store.tokens.decode("changes", token, "resume_token")
        if value.get("s") != scope or not isinstance(value.get("r"), dict):
            raise InvalidArgument("resume_token", "is not a token of this stream")
        resume = value["r"]
    try:
        async with store.watch_events(owner, oid, resume) as events:
            if opened is not None:
                await opened()
            async for event in events:
                change = await _change(store, event, scope, list_only=oid is None)
                if change is None:
                    continue
                yield change
                if oid is not None and event.kind == "conversation" and event.change == "DELETED":
                    return
    except OperationFailure as exc:
        # An unknown, forged or too old token: the change history cannot continue from it.
        raise FailedPrecondition(
            "the resume token is too old or not valid: list again and watch anew",
            reason="RESUME_TOKEN_EXPIRED",
        ) from exc


async def _change(store: Store, event: Event, scope: str, *, list_only: bool) -> ListChange | None:
    token = store.tokens.encode("changes", {"s": scope, "r": event.resume})
    kind = _CHANGES[event.change]
    conversation_id = str(event.conversation_id)
    if event.kind == "conversation":
        found = None
        if kind != pb.CHANGE_TYPE_DELETED:
            found = await store.conversation_by_id(event.conversation_id)
            if found is None:
                return None  # deleted since; its DELETED event follows
        return ListChange(kind, token, conversation_id, conversation=found)
    if list_only or event.message_id is None:
        return None  # the list shows conversations; their UPDATED events carry the changes
    message = None
    if kind != pb.CHANGE_TYPE_DELETED:
        message = await store.message_by_id(event.message_id)
        if message is None:
            return None  # deleted since (with its conversation, whose event follows)
    return ListChange(kind, token, conversation_id, str(event.message_id), message=message)
