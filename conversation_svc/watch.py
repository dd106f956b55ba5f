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

from conversation_svc.store import TERMINAL, Doc, Store, decode_token, encode_token
from mesh.errors import InvalidArgument, NotFound
from photofun.v1 import conversation_service_pb2 as pb


@dataclass(frozen=True)
class Change:
    """One event of a watched message."""

    event: pb.MessageEvent.ValueType
    message: Doc
    resume_token: str


def classify(before: Doc | None, after: Doc) -> pb.MessageEvent.ValueType:
    """Name what changed between two states of a message."""
    if after.get("status") in TERMINAL:
        return pb.MESSAGE_EVENT_FINISHED
    if before is None:
        return pb.MESSAGE_EVENT_UPDATED
    if len(after.get("images", [])) > len(before.get("images", [])):
        return pb.MESSAGE_EVENT_IMAGE_ADDED
    if after.get("intent") and not before.get("intent"):
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
    pipeline = [{"$match": {"documentKey._id": first["_id"]}}]
    async with await store.messages.watch(pipeline, full_document="updateLookup") as stream:
        current = await store.messages.find_one({"_id": first["_id"]})
        if current is None:
            raise NotFound(f"message {message_id} was deleted")
        if opened is not None:
            await opened()
        sent: Doc | None = None
        if current["version"] > seen:
            event = classify(None, current) if token else pb.MESSAGE_EVENT_SNAPSHOT
            if current.get("status") in TERMINAL:
                event = pb.MESSAGE_EVENT_FINISHED if token else pb.MESSAGE_EVENT_SNAPSHOT
            yield Change(event, current, _token(message_id, current))
            sent, seen = current, current["version"]
        if current.get("status") in TERMINAL:
            return
        async for change in stream:
            doc = change.get("fullDocument")
            if change.get("operationType") == "delete" or doc is None:
                raise NotFound(f"message {message_id} was deleted")
            if doc["version"] <= seen:
                continue  # already sent (updateLookup returns the latest state)
            yield Change(classify(sent, doc), doc, _token(message_id, doc))
            sent, seen = doc, doc["version"]
            if doc.get("status") in TERMINAL:
                return


def _token(message_id: str, doc: Doc) -> str:
    return encode_token({"m": message_id, "v": doc["version"]})
