"""WatchMessage: a message's changes from a MongoDB change stream, resumable by version.

The change stream is opened *before* the current state is read, so no change can fall between
the two. Every update increments the message's ``version``; the stream sends only versions it
has not sent, and a resume token is just (message, version): a reconnecting client gets every
change after the one it saw, merged into the latest state, and never one twice — even when the
database's change history has been trimmed meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from conversation_svc.model import Message
from conversation_svc.store import Store, decode_token, encode_token
from mesh.errors import InvalidArgument, NotFound
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
    first = await store.message(owner, message_id)  # ownership check: NOT_FOUND for others
    seen = 0
    if token:
        value = decode_token(token, "resume_token")
        if value.get("m") != message_id or not isinstance(value.get("v"), int):
            raise InvalidArgument("resume_token", "is not a token of this message")
        seen = value["v"]
    async with store.watch_message(first.id) as changes:
        current = await store.message_by_id(first.id)
        if current is None:
            raise NotFound(f"message {message_id} was deleted")
        if opened is not None:
            await opened()
        sent: Message | None = None
        if current.version > seen:
            event = classify(None, current) if token else pb.MESSAGE_EVENT_SNAPSHOT
            if current.terminal:
                event = pb.MESSAGE_EVENT_FINISHED if token else pb.MESSAGE_EVENT_SNAPSHOT
            yield Change(event, current, _token(message_id, current))
            sent, seen = current, current.version
        if current.terminal:
            return
        async for state in changes:
            if state is None:
                raise NotFound(f"message {message_id} was deleted")
            if state.version <= seen:
                continue  # already sent (the stream returns the latest state)
            yield Change(classify(sent, state), state, _token(message_id, state))
            sent, seen = state, state.version
            if state.terminal:
                return


def _token(message_id: str, message: Message) -> str:
    return encode_token({"m": message_id, "v": message.version})
