"""MongoDB access for conversations and messages: the one implementation the service and the
worker share (PyMongo's async API; see docs/decisions.md for why not Motor).

Schema (docs/api-contracts.md has the full table):
- ``conversations``: ``_id``, ``owner``, ``title``, ``create_time``, ``update_time``,
  ``message_count``. Index: ``(owner, update_time desc, _id desc)``.
- ``messages`` (their own collection, not an array in the conversation): the request, the
  analysis, ``images`` (appended one by one, each with a ``key`` so a redelivered task never
  appends the same view twice), ``status``, ``request_id`` (unique), ``failure``, ``version``
  (incremented by every update; lets watchers skip changes they already sent), ``deadline``.
  Indexes: ``(conversation_id, create_time, _id)``, unique ``request_id``, unique
  ``(conversation_id, idempotency_key)`` when a key is given, ``(owner, status)``,
  ``(status, deadline)``.
- ``uploads``: one record per picture stored through UploadImage (``owner``, ``create_time``,
  ``status`` STORING then STORED, ``url``, ``mime_type``, ``size_bytes``, ``width``,
  ``height``): the per-user quota counts them, and they say which Media files came from users.
  Index: ``(owner, create_time)``.

Every state change is a guarded update (``status: PROCESSING`` in the filter), so the terminal
state is reached exactly once whatever races happen (cancel vs finish, a redelivered task).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from mesh.errors import FailedPrecondition, InvalidArgument, NotFound

PROCESSING, DONE, FAILED, CANCELLED = "PROCESSING", "DONE", "FAILED", "CANCELLED"
TERMINAL = (DONE, FAILED, CANCELLED)
Doc = dict[str, Any]
MAX_PAGE, DEFAULT_PAGE = 100, 20


def now() -> dt.datetime:
    """The current time, UTC, at millisecond precision (what BSON dates keep)."""
    t = dt.datetime.now(dt.UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def object_id(value: str, field: str) -> ObjectId:
    """Parse an id; malformed → INVALID_ARGUMENT naming the field."""
    if not value:
        raise InvalidArgument(field, "is required")
    try:
        return ObjectId(value)
    except (InvalidId, TypeError) as exc:
        raise InvalidArgument(field, "is not a valid id (24 hexadecimal characters)") from exc


def page_size(value: int) -> int:
    """AIP-158: 0 → default, capped, negative → INVALID_ARGUMENT."""
    if value < 0:
        raise InvalidArgument("page_size", "must not be negative")
    return min(value or DEFAULT_PAGE, MAX_PAGE)


def encode_token(payload: Mapping[str, Any]) -> str:
    """An opaque page token."""
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_token(token: str, field: str = "page_token") -> dict[str, Any]:
    """Decode an opaque token; anything malformed → INVALID_ARGUMENT."""
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(field, "is not a token this service issued") from exc
    if not isinstance(value, dict):
        raise InvalidArgument(field, "is not a token this service issued")
    return value


@dataclass(frozen=True)
class Page:
    """One page of documents and the token of the next one ("" on the last)."""

    items: list[Doc]
    next_token: str


class Store:
    """Conversations and messages of every user; callers pass the owner for isolation."""

    def __init__(self, client: AsyncMongoClient[Doc], database: str) -> None:
        self.client = client
        db = client[database]
        self.conversations: AsyncCollection[Doc] = db["conversations"]
        self.messages: AsyncCollection[Doc] = db["messages"]
        self.uploads: AsyncCollection[Doc] = db["uploads"]

    async def ensure_indexes(self) -> None:
        """Create every index the queries use (idempotent)."""
        await self.conversations.create_index(
            [("owner", ASCENDING), ("update_time", DESCENDING), ("_id", DESCENDING)]
        )
        await self.conversations.create_index(
            [("owner", ASCENDING), ("request_id", ASCENDING)],
            unique=True,
            partialFilterExpression={"request_id": {"$type": "string"}},
        )
        await self.messages.create_index(
            [("conversation_id", ASCENDING), ("create_time", ASCENDING), ("_id", ASCENDING)]
        )
        await self.messages.create_index("request_id", unique=True)
        await self.messages.create_index(
            [("conversation_id", ASCENDING), ("idempotency_key", ASCENDING)],
            unique=True,
            partialFilterExpression={"idempotency_key": {"$type": "string"}},
        )
        await self.messages.create_index([("owner", ASCENDING), ("status", ASCENDING)])
        await self.messages.create_index([("status", ASCENDING), ("deadline", ASCENDING)])
        await self.uploads.create_index([("owner", ASCENDING), ("create_time", ASCENDING)])

    # -- conversations -------------------------------------------------------------------

    async def create_conversation(
        self, owner: str, title: str, *, request_id: str | None = None
    ) -> Doc:
        """Insert a conversation owned by ``owner``; a ``request_id`` the owner used before
        returns the conversation that request created (a retried call makes no second one)."""
        t = now()
        doc: Doc = {"owner": owner, "title": title, "create_time": t, "update_time": t}
        doc["message_count"] = 0
        if request_id is not None:
            doc["request_id"] = request_id
        try:
            result = await self.conversations.insert_one(doc)
        except DuplicateKeyError:
            first = await self.conversations.find_one({"owner": owner, "request_id": request_id})
            if request_id is None or first is None:  # deleted between the two calls
                raise
            return first
        return {**doc, "_id": result.inserted_id}

    async def conversation(self, owner: str, conversation_id: str) -> Doc:
        """The owner's conversation; anyone else's is NOT_FOUND."""
        oid = object_id(conversation_id, "conversation_id")
        doc = await self.conversations.find_one({"_id": oid, "owner": owner})
        if doc is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return doc

    async def list_conversations(self, owner: str, size: int, token: str) -> Page:
        """Most recently updated first; keyset pagination on (update_time, _id)."""
        query: Doc = {"owner": owner}
        if token:
            after = decode_token(token)
            try:
                t = dt.datetime.fromisoformat(after["t"])
                oid = ObjectId(after["id"])
            except (KeyError, ValueError, InvalidId, TypeError) as exc:
                raise InvalidArgument("page_token", "is not a token this service issued") from exc
            query["$or"] = [{"update_time": {"$lt": t}}, {"update_time": t, "_id": {"$lt": oid}}]
        cursor = self.conversations.find(query).sort(
            [("update_time", DESCENDING), ("_id", DESCENDING)]
        )
        docs = await cursor.limit(size + 1).to_list()
        more = len(docs) > size
        docs = docs[:size]
        last = docs[-1] if more else None
        next_token = (
            encode_token({"t": last["update_time"].isoformat(), "id": str(last["_id"])})
            if last
            else ""
        )
        return Page(docs, next_token)

    async def delete_conversation(
        self, owner: str, conversation_id: str, *, only_if_empty: bool = False
    ) -> list[str]:
        """Delete the conversation and its messages; returns the request ids still running.
        With ``only_if_empty`` a conversation with messages is kept (FAILED_PRECONDITION): the
        conversation goes first, guarded by ``message_count: 0`` in one atomic delete; a message
        stored in the instant before (counted just after) then goes with it."""
        doc = await self.conversation(owner, conversation_id)
        if only_if_empty:
            gone = await self.conversations.delete_one({"_id": doc["_id"], "message_count": 0})
            if gone.deleted_count == 0:
                if await self.conversations.count_documents({"_id": doc["_id"]}) == 0:
                    raise NotFound(f"conversation {conversation_id} does not exist")
                raise FailedPrecondition(
                    "the conversation has messages; only_if_empty deletes only an empty one",
                    reason="CONVERSATION_NOT_EMPTY",
                )
        running = await self.messages.find(
            {"conversation_id": doc["_id"], "status": PROCESSING}, {"request_id": 1}
        ).to_list()
        await self.messages.delete_many({"conversation_id": doc["_id"]})
        await self.conversations.delete_one({"_id": doc["_id"]})
        return [m["request_id"] for m in running]

    # -- messages ------------------------------------------------------------------------

    async def insert_message(self, conversation: Doc, fields: Doc) -> tuple[Doc, bool]:
        """Store a new PROCESSING message; returns (message, created). An idempotency key
        already used in this conversation returns the first message and ``created=False``."""
        t = now()
        doc: Doc = {
            **fields,
            "conversation_id": conversation["_id"],
            "owner": conversation["owner"],
            "status": PROCESSING,
            "images": [],
            "keywords": [],
            "version": 1,
            "create_time": t,
            "update_time": t,
        }
        try:
            result = await self.messages.insert_one(doc)
        except DuplicateKeyError:
            key = fields.get("idempotency_key")
            if not key:
                raise
            first = await self.messages.find_one(
                {"conversation_id": conversation["_id"], "idempotency_key": key}
            )
            if first is None:  # deleted between the two calls
                raise
            return first, False
        title = conversation["title"] or fields["prompt"][:60]
        await self.conversations.update_one(
            {"_id": conversation["_id"]},
            {"$set": {"update_time": t, "title": title}, "$inc": {"message_count": 1}},
        )
        return {**doc, "_id": result.inserted_id}, True

    async def message_by_key(self, conversation_id: ObjectId, key: str) -> Doc | None:
        """The message sent earlier with this idempotency key, if any."""
        return await self.messages.find_one(
            {"conversation_id": conversation_id, "idempotency_key": key}
        )

    async def forget_message(self, message_id: ObjectId, conversation_id: ObjectId) -> None:
        """Undo ``insert_message`` when the work could not be queued (nothing half-written)."""
        await self.messages.delete_one({"_id": message_id})
        await self.conversations.update_one(
            {"_id": conversation_id}, {"$inc": {"message_count": -1}}
        )

    async def message(self, owner: str, message_id: str) -> Doc:
        """The owner's message; anyone else's is NOT_FOUND."""
        oid = object_id(message_id, "message_id")
        doc = await self.messages.find_one({"_id": oid, "owner": owner})
        if doc is None:
            raise NotFound(f"message {message_id} does not exist")
        return doc

    async def message_by_id(self, message_id: str) -> Doc | None:
        """Any message by id (the worker's view; no owner check)."""
        return await self.messages.find_one({"_id": ObjectId(message_id)})

    async def list_messages(
        self, owner: str, conversation_id: str, size: int, token: str, *, newest_first: bool = False
    ) -> Page:
        """Oldest (or newest) first; keyset pagination on (create_time, _id)."""
        conv = await self.conversation(owner, conversation_id)
        query: Doc = {"conversation_id": conv["_id"]}
        order = "desc" if newest_first else "asc"
        if token:
            after = decode_token(token)
            try:
                t = dt.datetime.fromisoformat(after["t"])
                oid = ObjectId(after["id"])
                if after.get("c") != conversation_id:
                    raise ValueError("token of another conversation")
                if after.get("o", "asc") != order:
                    raise ValueError("token of another order")
            except (KeyError, ValueError, InvalidId, TypeError) as exc:
                raise InvalidArgument("page_token", "is not a token of this listing") from exc
            beyond = "$lt" if newest_first else "$gt"
            query["$or"] = [{"create_time": {beyond: t}}, {"create_time": t, "_id": {beyond: oid}}]
        direction = DESCENDING if newest_first else ASCENDING
        cursor = self.messages.find(query).sort([("create_time", direction), ("_id", direction)])
        docs = await cursor.limit(size + 1).to_list()
        more = len(docs) > size
        docs = docs[:size]
        last = docs[-1] if more else None
        next_token = (
            encode_token(
                {
                    "c": conversation_id,
                    "o": order,
                    "t": last["create_time"].isoformat(),
                    "id": str(last["_id"]),
                }
            )
            if last
            else ""
        )
        return Page(docs, next_token)

    async def processing_count(self, owner: str) -> int:
        """How many of the owner's messages are still PROCESSING."""
        return await self.messages.count_documents({"owner": owner, "status": PROCESSING})

    async def update_processing(self, message_id: ObjectId, fields: Doc) -> Doc | None:
        """Set fields on a message that is still PROCESSING; None when it is not any more."""
        return await self.messages.find_one_and_update(
            {"_id": message_id, "status": PROCESSING},
            {"$set": {**fields, "update_time": now()}, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )

    async def append_image(self, message_id: ObjectId, image: Doc) -> bool:
        """Append an image unless one with the same ``key`` is there; False if not appended."""
        result = await self.messages.update_one(
            {"_id": message_id, "status": PROCESSING, "images.key": {"$ne": image["key"]}},
            {"$push": {"images": image}, "$set": {"update_time": now()}, "$inc": {"version": 1}},
        )
        return result.modified_count == 1

    async def finish(
        self,
        message_id: ObjectId,
        status: str,
        *,
        failure: Doc | None = None,
        extra: Doc | None = None,
    ) -> Doc | None:
        """Move a PROCESSING message to a terminal state once; None if it already was terminal."""
        t = now()
        fields: Doc = {**(extra or {}), "status": status, "finish_time": t, "update_time": t}
        if failure is not None:
            fields["failure"] = failure
        return await self.messages.find_one_and_update(
            {"_id": message_id, "status": PROCESSING},
            {"$set": fields, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )

    async def expired(self, at: dt.datetime, limit: int = 100) -> list[Doc]:
        """PROCESSING messages whose deadline has passed."""
        cursor = self.messages.find({"status": PROCESSING, "deadline": {"$lt": at}}).limit(limit)
        return await cursor.to_list()

    # -- uploads ---------------------------------------------------------------------------

    async def reserve_upload(self, owner: str, since: dt.datetime) -> tuple[ObjectId, int]:
        """Record an upload as STORING; returns its id and how many uploads the owner has made
        since ``since``, this one included (so two racing uploads both see each other)."""
        result = await self.uploads.insert_one(
            {"owner": owner, "create_time": now(), "status": "STORING"}
        )
        count = await self.uploads.count_documents({"owner": owner, "create_time": {"$gte": since}})
        return result.inserted_id, count

    async def stored_upload(self, upload_id: ObjectId, fields: Doc) -> None:
        """Mark a reserved upload STORED, with where it went and what it is."""
        await self.uploads.update_one({"_id": upload_id}, {"$set": {**fields, "status": "STORED"}})

    async def forget_upload(self, upload_id: ObjectId) -> None:
        """Remove the record of an upload that was refused or failed."""
        await self.uploads.delete_one({"_id": upload_id})
