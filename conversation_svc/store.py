"""MongoDB access for conversations and messages: the one implementation the service and the
worker share (PyMongo's async API; see docs/decisions.md for why not Motor).

Schema (docs/api-contracts.md has the full table):
- ``conversations``: ``_id``, ``owner``, ``title``, ``create_time``, ``update_time``,
  ``message_count``, ``idempotency_key`` (when the creating call gave one). Indexes:
  ``(owner, update_time desc, _id desc)``, unique ``(owner, idempotency_key)`` when given.
- ``messages`` (their own collection, not an array in the conversation): the request, the
  analysis, ``images`` (appended one by one, each with a ``key`` so a redelivered task never
  appends the same view twice), ``status``, ``request_id`` (unique), ``failure``, ``version``
  (incremented by every update; lets watchers skip changes they already sent), ``deadline``.
  Indexes: ``(conversation_id, create_time, _id)``, unique ``request_id``, unique
  ``(conversation_id, idempotency_key)`` when a key is given, ``(status, deadline)``.
  (No ``(owner, status)``: the per-user cap counts slots in ``quotas``, and every index costs
  each of a message's writes.)
- ``events``: the outbox of live sync. Every change of a conversation or message appends one
  (``owner``, ``conversation_id``, ``kind`` conversation|message, ``change``
  CREATED|UPDATED|DELETED, ``message_id``, ``time``); WatchConversation(s) follow it through a
  change stream filtered by owner, which carries deletions too (a deleted document has no
  owner left to filter on). The sweeper trims events older than an hour; resuming relies on
  the change stream's own history. Index: ``time``.
- ``quotas``: one document per user (``_id`` the owner) whose ``slots`` list the user's
  PROCESSING messages (``message_id``, ``deadline``): SendMessage takes a slot with one
  conditional push before it stores the message (``slots.<cap-1>`` must not exist, so the
  cap holds under any concurrency), and the slot is pulled when the message reaches a terminal
  state, is forgotten or deleted; the sweeper pulls slots past their deadline.
- ``uploads``: one record per picture stored through UploadImage (``owner``, ``create_time``,
  ``status`` STORING then STORED, ``url``, ``mime_type``, ``size_bytes``, ``width``,
  ``height``): the per-user quota counts them, and they say which Media files came from users.
  Index: ``(owner, create_time)``.
- ``leases``: which worker process runs a message (``_id`` the message id, ``holder``,
  ``until``). A worker claims the lease before it runs a message and renews it while it
  does; a second delivery of the same task waits while someone else holds it, so one message
  never runs twice at the same time; the sweeper queues again the messages whose lease ran
  out (their worker died). Kept apart from ``messages`` so heartbeats are not changes that
  watchers see. Index: ``until``.

Every state change is a guarded update (``status: PROCESSING`` in the filter), so the terminal
state is reached exactly once whatever races happen (cancel vs finish, a redelivered task).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import ConnectionFailure, DuplicateKeyError

from conversation_svc import observe
from conversation_svc.feed import MessageFeed
from conversation_svc.model import (
    Analysis,
    Conversation,
    Failure,
    Message,
    MessageImage,
    NewMessage,
    ResultRef,
    Status,
    ViewFailure,
)
from conversation_svc.tokens import TokenSigner
from mesh.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ServiceError,
    Unavailable,
)
from mesh.limits import title_of
from mesh.logs import get_logger
from mesh.vocabulary import FollowUp, Intent

Doc = dict[str, Any]  # a raw MongoDB document: never leaves this module
log = get_logger(__name__)
T = TypeVar("T")
MAX_PAGE, DEFAULT_PAGE = 100, 20
# The times a stored document can have: page tokens carry one, and nothing outside this range
# was ever issued (BSON dates are milliseconds since 1970; Python's stop at year 9999).
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
PROCESSING = Status.PROCESSING.value
REQUEUED = "requeued"  # the holder of a lease the sweeper took back from a dead worker


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


def database_unavailable(exc: BaseException) -> ServiceError | None:
    """MongoDB unreachable (no server selected in time, a dropped connection, a network
    timeout) → UNAVAILABLE, which clients retry; None for anything else."""
    if isinstance(exc, ConnectionFailure):
        return Unavailable(
            "the database is unavailable; retry later", reason="DATABASE_UNAVAILABLE"
        )
    return None


def hosts_of(uri: str) -> str:
    """The hosts of a MongoDB URI, without its credentials (for messages and logs)."""
    rest = uri.partition("://")[2]
    hosts = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    return hosts or "the configured MONGODB_URI"


def token_time(value: object) -> dt.datetime:
    """A time read back from a token: an aware ISO 8601 string BSON can hold (UTC), else
    ValueError (a token's reader turns it into INVALID_ARGUMENT)."""
    if not isinstance(value, str):
        raise ValueError("not a time")
    try:
        t = dt.datetime.fromisoformat(value)
        if t.tzinfo is None:
            raise ValueError("a naive time")
        t = t.astimezone(dt.UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise ValueError("out of range") from exc
    if not EPOCH <= t <= LATEST:
        raise ValueError("out of range")
    return t


def _aware(t: dt.datetime) -> dt.datetime:
    """BSON dates are UTC; PyMongo gives naive ones unless the client is tz_aware."""
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Event:
    """One change of a conversation or a message, from the live-sync outbox."""

    kind: str  # "conversation" | "message"
    change: str  # "CREATED" | "UPDATED" | "DELETED"
    conversation_id: ObjectId
    message_id: ObjectId | None
    resume: Doc  # the change stream's token, to resume after this event


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items and the token of the next one ("" on the last)."""

    items: list[T]
    next_token: str


# What append_image reads back to tell a message's first image (and its time to it).
_FIRST_IMAGE_FIELDS = {"owner": 1, "conversation_id": 1, "create_time": 1, "intent": 1, "images": 1}


def _event(
    conversation: Conversation, kind: str, change: str, message_id: ObjectId | None, at: dt.datetime
) -> Doc:
    """A live-sync event of the conversation's owner."""
    return {
        "owner": conversation.owner,
        "conversation_id": conversation.id,
        "kind": kind,
        "change": change,
        "message_id": message_id,
        "time": at,
    }


class Store:
    """Conversations and messages of every user; callers pass the owner for isolation."""

    def __init__(
        self, client: AsyncMongoClient[Doc], database: str, *, token_key: bytes | None = None
    ) -> None:
        self.client = client
        self.tokens = TokenSigner(token_key)
        db = client[database]
        self.conversations: AsyncCollection[Doc] = db["conversations"]
        self.messages: AsyncCollection[Doc] = db["messages"]
        self.uploads: AsyncCollection[Doc] = db["uploads"]
        self.events: AsyncCollection[Doc] = db["events"]
        self.quotas: AsyncCollection[Doc] = db["quotas"]
        self.leases: AsyncCollection[Doc] = db["leases"]
        self._feed: MessageFeed | None = None
        # Live-sync events of messages' non-final changes, being stored (see _emit_soon).
        self._pending: dict[ObjectId, set[asyncio.Task[None]]] = {}
        self._feed_loop: asyncio.AbstractEventLoop | None = None

    async def ensure_indexes(self) -> None:
        """Create every index the queries use (idempotent)."""
        await self.conversations.create_index(
            [("owner", ASCENDING), ("update_time", DESCENDING), ("_id", DESCENDING)]
        )
        await self.conversations.create_index(
            [("owner", ASCENDING), ("idempotency_key", ASCENDING)],
            unique=True,
            partialFilterExpression={"idempotency_key": {"$type": "string"}},
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
        await self.messages.create_index([("status", ASCENDING), ("deadline", ASCENDING)])
        await self.uploads.create_index([("owner", ASCENDING), ("create_time", ASCENDING)])
        await self.events.create_index("time")
        await self.quotas.create_index("slots.deadline")
        await self.leases.create_index("until")

    # -- live sync -----------------------------------------------------------------------

    async def _emit(
        self,
        owner: str,
        conversation_id: ObjectId,
        kind: str,
        change: str,
        message_id: ObjectId | None = None,
    ) -> None:
        await self.events.insert_one(
            {
                "owner": owner,
                "conversation_id": conversation_id,
                "kind": kind,
                "change": change,
                "message_id": message_id,
                "time": now(),
            }
        )

    async def _emit_message(self, doc: Doc | None, change: str = "UPDATED") -> None:
        if doc is not None:
            await self._emit(doc["owner"], doc["conversation_id"], "message", change, doc["_id"])

    def _emit_soon(self, doc: Doc | None) -> None:
        """Store the event of a message's non-final change without the caller waiting for it:
        the worker goes on with the next view meanwhile. The message's final event waits for
        these (``_emit_last``), so a live view never sees the end before a change."""
        if doc is None:
            return
        task = asyncio.create_task(self._emit_message(doc))
        self._pending.setdefault(doc["_id"], set()).add(task)
        task.add_done_callback(functools.partial(self._emitted, doc["_id"]))

    def _emitted(self, message_id: ObjectId, task: asyncio.Task[None]) -> None:
        pending = self._pending.get(message_id)
        if pending is not None:
            pending.discard(task)
            if not pending:
                del self._pending[message_id]
        if not task.cancelled() and (exc := task.exception()) is not None:
            # The change is stored; live views see it with the message's next event.
            log.warning("a live-sync event was not stored", message_id=str(message_id), error=exc)

    async def _emit_last(self, doc: Doc) -> None:
        """Store the event of a message's final change after every earlier one of it."""
        pending = self._pending.get(doc["_id"])
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        await self._emit_message(doc)

    @asynccontextmanager
    async def watch_events(
        self, owner: str, conversation_id: ObjectId | None, resume_after: Doc | None
    ) -> AsyncIterator[AsyncIterator[Event]]:
        """The owner's changes (of one conversation, or of all), as they are committed. The
        stream is open when this yields; each event carries the token to resume after it."""
        match: Doc = {"operationType": "insert", "fullDocument.owner": owner}
        if conversation_id is not None:
            match["fullDocument.conversation_id"] = conversation_id
        options: Doc = {"resume_after": resume_after} if resume_after else {}
        async with await self.events.watch([{"$match": match}], **options) as stream:

            async def events() -> AsyncIterator[Event]:
                async for change in stream:
                    doc = change["fullDocument"]
                    yield Event(
                        kind=doc["kind"],
                        change=doc["change"],
                        conversation_id=doc["conversation_id"],
                        message_id=doc.get("message_id"),
                        resume=dict(change["_id"]),
                    )

            yield events()

    async def trim_events(self, before: dt.datetime) -> int:
        """Forget live-sync events older than ``before``; returns how many."""
        return (await self.events.delete_many({"time": {"$lt": before}})).deleted_count

    # -- conversations -------------------------------------------------------------------

    async def create_conversation(
        self, owner: str, title: str, *, idempotency_key: str | None = None
    ) -> Conversation:
        """Insert a conversation owned by ``owner``; an ``idempotency_key`` the owner used before
        returns the conversation that request created (a retried call makes no second one)."""
        t = now()
        doc: Doc = {"owner": owner, "title": title, "create_time": t, "update_time": t}
        doc["message_count"] = 0
        if idempotency_key is not None:
            doc["idempotency_key"] = idempotency_key
        try:
            result = await self.conversations.insert_one(doc)
        except DuplicateKeyError:
            first = await self.conversations.find_one(
                {"owner": owner, "idempotency_key": idempotency_key}
            )
            if idempotency_key is None or first is None:  # deleted between the two calls
                raise
            return Conversation.from_doc(first)
        await self._emit(owner, result.inserted_id, "conversation", "CREATED")
        return Conversation.from_doc({**doc, "_id": result.inserted_id})

    async def conversation_by_id(self, conversation_id: ObjectId) -> Conversation | None:
        """Any conversation by id (no owner check: for events already filtered by owner)."""
        doc = await self.conversations.find_one({"_id": conversation_id})
        return Conversation.from_doc(doc) if doc is not None else None

    async def conversation(self, owner: str, conversation_id: str) -> Conversation:
        """The owner's conversation; anyone else's is NOT_FOUND."""
        oid = object_id(conversation_id, "conversation_id")
        doc = await self.conversations.find_one({"_id": oid, "owner": owner})
        if doc is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return Conversation.from_doc(doc)

    async def list_conversations(self, owner: str, size: int, token: str) -> Page[Conversation]:
        """Most recently updated first; keyset pagination on (update_time, _id)."""
        query: Doc = {"owner": owner}
        if token:
            after = self.tokens.decode("conversations", token, "page_token")
            try:
                if after.get("u") != owner:
                    raise ValueError("token of another user")
                t = token_time(after.get("t"))
                oid = ObjectId(after["id"])
            except (KeyError, ValueError, InvalidId, TypeError) as exc:
                raise InvalidArgument("page_token", "is not a token this service issued") from exc
            query["$or"] = [{"update_time": {"$lt": t}}, {"update_time": t, "_id": {"$lt": oid}}]
        cursor = self.conversations.find(query).sort(
            [("update_time", DESCENDING), ("_id", DESCENDING)]
        )
        docs = await cursor.limit(size + 1).to_list()
        more = len(docs) > size
        items = [Conversation.from_doc(d) for d in docs[:size]]
        last = items[-1] if more else None
        next_token = (
            self.tokens.encode(
                "conversations",
                {"u": owner, "t": _aware(last.update_time).isoformat(), "id": str(last.id)},
            )
            if last
            else ""
        )
        return Page(items, next_token)

    async def delete_conversation(
        self, owner: str, conversation_id: str, *, only_if_empty: bool = False
    ) -> list[str]:
        """Delete the conversation and its messages; returns the request ids still running.
        With ``only_if_empty`` a conversation with messages is kept (FAILED_PRECONDITION): the
        conversation goes first, guarded by ``message_count: 0`` in one atomic delete; a message
        is counted before it is stored, so one being sent keeps the conversation."""
        conv = await self.conversation(owner, conversation_id)
        if only_if_empty:
            gone = await self.conversations.delete_one({"_id": conv.id, "message_count": 0})
            if gone.deleted_count == 1:
                await self._emit(owner, conv.id, "conversation", "DELETED")
            else:
                if await self.conversations.count_documents({"_id": conv.id}) == 0:
                    raise NotFound(f"conversation {conversation_id} does not exist")
                raise FailedPrecondition(
                    "the conversation has messages; only_if_empty deletes only an empty one",
                    reason="CONVERSATION_NOT_EMPTY",
                )
        running = await self._delete_messages(conv.id)
        await self.conversations.delete_one({"_id": conv.id})
        # Once more: a message stored while the first sweep ran (SendMessage counted it on the
        # conversation before the delete, and stored it after the sweep) goes too.
        running += await self._delete_messages(conv.id)
        for m in running:  # releasing is idempotent: one that finished meanwhile is no harm
            await self.release_processing(owner, m["_id"])
        await self._emit(owner, conv.id, "conversation", "DELETED")
        return [m["request_id"] for m in running]

    async def _delete_messages(self, conversation_id: ObjectId) -> list[Doc]:
        """Delete a conversation's messages; returns the ids and request ids of those that
        were PROCESSING."""
        running = await self.messages.find(
            {"conversation_id": conversation_id, "status": PROCESSING}, {"request_id": 1}
        ).to_list()
        await self.messages.delete_many({"conversation_id": conversation_id})
        return running

    # -- messages ------------------------------------------------------------------------

    async def insert_message(
        self, conversation: Conversation, new: NewMessage, *, message_id: ObjectId | None = None
    ) -> tuple[Message, bool]:
        """Store a new PROCESSING message (under ``message_id`` when given: the id its slot was
        reserved for); returns (message, created). An idempotency key already used in this
        conversation returns the first message and ``created=False``."""
        t = now()
        doc: Doc = {
            "_id": message_id or ObjectId(),
            **new.to_doc(),
            "conversation_id": conversation.id,
            "owner": conversation.owner,
            "status": PROCESSING,
            "images": [],
            "keywords": [],
            "version": 1,
            "create_time": t,
            "update_time": t,
        }
        title = conversation.title or title_of(new.prompt)
        # Counted on its conversation first, in one write that finds the conversation or not:
        # a delete that came first makes this NOT_FOUND, and a delete with only_if_empty that
        # comes after finds the conversation not empty.
        counted = await self.conversations.update_one(
            {"_id": conversation.id},
            {"$set": {"update_time": t, "title": title}, "$inc": {"message_count": 1}},
        )
        if counted.matched_count == 0:
            raise NotFound(f"conversation {conversation.id} does not exist")
        uncount = {"$inc": {"message_count": -1}}
        try:
            result = await self.messages.insert_one(doc)
        except DuplicateKeyError:
            await self.conversations.update_one({"_id": conversation.id}, uncount)
            if not new.idempotency_key:
                raise
            first = await self.message_by_key(conversation.id, new.idempotency_key)
            if first is None:  # deleted between the two calls
                raise
            return first, False
        except BaseException:
            await asyncio.shield(self.conversations.update_one({"_id": conversation.id}, uncount))
            raise
        at = now()
        # The conversation was deleted while the message was stored: take it back, so no
        # message outlives its conversation (the delete sweeps its messages once more too).
        alive, _ = await asyncio.gather(
            self.conversations.count_documents({"_id": conversation.id}, limit=1),
            # Both live-sync events (ordered: the message, then its conversation) at once.
            self.events.insert_many(
                [
                    _event(conversation, "message", "CREATED", result.inserted_id, at),
                    _event(conversation, "conversation", "UPDATED", None, at),
                ]
            ),
        )
        if not alive:
            await self.messages.delete_one({"_id": result.inserted_id})
            raise NotFound(f"conversation {conversation.id} was deleted")
        return Message.from_doc({**doc, "_id": result.inserted_id}), True

    async def message_by_key(self, conversation_id: ObjectId, key: str) -> Message | None:
        """The message sent earlier with this idempotency key, if any."""
        doc = await self.messages.find_one(
            {"conversation_id": conversation_id, "idempotency_key": key}
        )
        return Message.from_doc(doc) if doc is not None else None

    async def forget_message(self, message: Message) -> None:
        """Undo ``insert_message`` when the work could not be queued (nothing half-written)."""
        await self.messages.delete_one({"_id": message.id})
        await self.release_processing(message.owner, message.id)
        await self.conversations.update_one(
            {"_id": message.conversation_id}, {"$inc": {"message_count": -1}}
        )
        await self._emit(message.owner, message.conversation_id, "message", "DELETED", message.id)

    async def message(self, owner: str, message_id: str) -> Message:
        """The owner's message; anyone else's is NOT_FOUND."""
        oid = object_id(message_id, "message_id")
        doc = await self.messages.find_one({"_id": oid, "owner": owner})
        if doc is None:
            raise NotFound(f"message {message_id} does not exist")
        return Message.from_doc(doc)

    async def message_by_id(self, message_id: str | ObjectId) -> Message | None:
        """Any message by id (the worker's view; no owner check)."""
        doc = await self.messages.find_one({"_id": ObjectId(message_id)})
        return Message.from_doc(doc) if doc is not None else None

    async def list_messages(
        self, owner: str, conversation_id: str, size: int, token: str, *, newest_first: bool = False
    ) -> Page[Message]:
        """Oldest (or newest) first; keyset pagination on (create_time, _id)."""
        conv = await self.conversation(owner, conversation_id)
        query: Doc = {"conversation_id": conv.id}
        order = "desc" if newest_first else "asc"
        if token:
            after = self.tokens.decode("messages", token, "page_token")
            try:
                t = token_time(after.get("t"))
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
        items = [Message.from_doc(d) for d in docs[:size]]
        last = items[-1] if more else None
        next_token = (
            self.tokens.encode(
                "messages",
                {
                    "c": conversation_id,
                    "o": order,
                    "t": _aware(last.create_time).isoformat(),
                    "id": str(last.id),
                },
            )
            if last
            else ""
        )
        return Page(items, next_token)

    # -- the per-user PROCESSING cap -----------------------------------------------------

    async def reserve_processing(
        self, owner: str, message_id: ObjectId, deadline: dt.datetime, cap: int
    ) -> bool:
        """Take one of the owner's ``cap`` PROCESSING slots for ``message_id``, atomically:
        one conditional push on the owner's quota document (``slots.<cap-1>`` must not exist),
        so concurrent calls can never take more than ``cap``. False when all are taken."""
        slot = {"message_id": message_id, "deadline": deadline}
        full = {"_id": owner, f"slots.{cap - 1}": {"$exists": False}}
        for _ in range(2):
            try:
                await self.quotas.update_one(full, {"$push": {"slots": slot}}, upsert=True)
            except DuplicateKeyError:
                # The document exists and is full (the upsert collided with it), or a racing
                # first reservation created it a moment ago: one more try tells which.
                continue
            return True
        return False

    async def release_processing(self, owner: str, message_id: ObjectId) -> None:
        """Give the message's slot back (idempotent: releasing twice, or a slot never taken,
        changes nothing, so redelivered tasks and racing sweepers are harmless)."""
        await self.quotas.update_one(
            {"_id": owner}, {"$pull": {"slots": {"message_id": message_id}}}
        )

    async def prune_slots(self, at: dt.datetime) -> None:
        """Free slots past their message's deadline: the sweeper's net for a reservation whose
        message was never stored (a crash between the two) or deleted without a release."""
        await self.quotas.update_many(
            {"slots.deadline": {"$lt": at}}, {"$pull": {"slots": {"deadline": {"$lt": at}}}}
        )

    async def _update_processing(self, message_id: ObjectId, fields: Doc) -> Message | None:
        """Set fields on a message that is still PROCESSING; None when it is not any more."""
        doc = await self.messages.find_one_and_update(
            {"_id": message_id, "status": PROCESSING},
            {"$set": {**fields, "update_time": now()}, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )
        self._emit_soon(doc)
        return Message.from_doc(doc) if doc is not None else None

    async def record_analysis(
        self,
        message_id: ObjectId,
        *,
        intent: Intent,
        refined_prompt: str,
        keywords: Sequence[str],
        reply: str,
        expected_image_count: int,
        analysis: Analysis,
        follow_up: FollowUp = FollowUp.NONE,
        source: ResultRef | None = None,
        variation: int = 0,
        input_image_url: str | None = None,
    ) -> Message | None:
        """Store what prompt_svc understood, and what the message continues (the earlier
        result, its take, the input image an edit follow-up takes from it); None when the
        message is no longer PROCESSING."""
        fields: Doc = {
            "intent": intent.value,
            "refined_prompt": refined_prompt,
            "keywords": list(keywords),
            "reply": reply,
            "expected_image_count": expected_image_count,
            "analysis": analysis.to_doc(),
            "follow_up": follow_up.value,
            "source": source.to_doc() if source else None,
            "variation": variation,
        }
        if input_image_url is not None:
            fields["input_image_url"] = input_image_url
        return await self._update_processing(message_id, fields)

    async def recent_results(
        self, conversation_id: ObjectId, before: dt.datetime, limit: int
    ) -> list[Message]:
        """The conversation's last ``limit`` DONE messages created before ``before``, oldest
        first: the window a follow-up is understood in (a fixed cost however long it is)."""
        cursor = (
            self.messages.find(
                {
                    "conversation_id": conversation_id,
                    "create_time": {"$lt": before},
                    "status": Status.DONE.value,
                }
            )
            .sort([("create_time", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [Message.from_doc(d) for d in reversed(await cursor.to_list())]

    async def message_in(self, conversation_id: ObjectId, message_id: str) -> Message | None:
        """A message of this conversation, or None (another conversation's is None too)."""
        try:
            oid = ObjectId(message_id)
        except (InvalidId, TypeError):
            return None
        doc = await self.messages.find_one({"_id": oid, "conversation_id": conversation_id})
        return Message.from_doc(doc) if doc is not None else None

    async def next_variation(self, conversation_id: ObjectId, take_key: str) -> int:
        """The next take number of one subject in a conversation (1, 2, ...), counted
        atomically, so two variations asked at once never get the same seeds."""
        field = "takes." + hashlib.blake2b(take_key.encode(), digest_size=8).hexdigest()
        doc = await self.conversations.find_one_and_update(
            {"_id": conversation_id},
            {"$inc": {field: 1}},
            projection={field: 1},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise NotFound("the conversation was deleted")
        return int(doc["takes"][field.removeprefix("takes.")])

    async def record_failed_views(
        self, message_id: ObjectId, views: Sequence[ViewFailure]
    ) -> Message | None:
        """Replace the list of views that could not be drawn; None when no longer PROCESSING."""
        return await self._update_processing(
            message_id,
            {
                "failed_views": [
                    {"angle": v.angle, "reason": v.reason, "message": v.message} for v in views
                ]
            },
        )

    async def append_image(
        self, message_id: ObjectId, image: MessageImage, *, done: bool = False, reply: str = ""
    ) -> bool:
        """Append an image unless one with the same ``key`` is there; False if not appended."""
        return await self.append_images(message_id, [image], done=done, reply=reply)

    async def append_images(
        self,
        message_id: ObjectId,
        images: Sequence[MessageImage],
        *,
        done: bool = False,
        reply: str = "",
    ) -> bool:
        """Append images in one write unless one with the same ``key`` is there already (then
        none is appended: False).

        With ``done`` the same write ends the message DONE (``reply`` replacing its reply when
        given): the last views of a message cost one write, one event and one change for its
        watchers instead of two of each."""
        t = now()
        fields: Doc = {"update_time": t}
        if done:
            fields |= {"status": Status.DONE.value, "finish_time": t}
            if reply:
                fields["reply"] = reply
        keys = [image.key for image in images]
        doc = await self.messages.find_one_and_update(
            {"_id": message_id, "status": PROCESSING, "images.key": {"$nin": keys}},
            {
                "$push": {"images": {"$each": [image.to_doc() for image in images]}},
                "$set": fields,
                "$inc": {"version": 1},
            },
            # The document after the push: with one image, this one is the message's first.
            projection=None if done else _FIRST_IMAGE_FIELDS,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return False
        if done:  # it left PROCESSING now, exactly once: its slot is free
            await asyncio.gather(
                self.release_processing(doc["owner"], doc["_id"]), self._emit_last(doc)
            )
        else:
            self._emit_soon(doc)
        message = Message.from_doc(doc)
        if len(doc.get("images") or ()) == len(images):  # these are the message's first
            observe.first_image(message, t)
        if done:
            observe.settled(message)
        return True

    async def finish(
        self,
        message_id: ObjectId,
        status: Status,
        *,
        failure: Failure | None = None,
        reply: str | None = None,
    ) -> Message | None:
        """Move a PROCESSING message to a terminal state once; None if it already was terminal."""
        t = now()
        fields: Doc = {"status": status.value, "finish_time": t, "update_time": t}
        if failure is not None:
            fields["failure"] = {"reason": failure.reason, "message": failure.message}
        if reply is not None:
            fields["reply"] = reply
        doc = await self.messages.find_one_and_update(
            {"_id": message_id, "status": PROCESSING},
            {"$set": fields, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        # It left PROCESSING now, exactly once: its slot is free.
        await asyncio.gather(
            self.release_processing(doc["owner"], doc["_id"]), self._emit_last(doc)
        )
        settled = Message.from_doc(doc)
        observe.settled(settled)
        return settled

    async def expired(self, at: dt.datetime, limit: int = 100) -> list[Message]:
        """PROCESSING messages whose deadline has passed."""
        cursor = self.messages.find({"status": PROCESSING, "deadline": {"$lt": at}}).limit(limit)
        return [Message.from_doc(d) for d in await cursor.to_list()]

    @asynccontextmanager
    async def watch_message(
        self, message_id: ObjectId
    ) -> AsyncIterator[AsyncIterator[Message | None]]:
        """The message's later states, subscribed before the caller reads its current state;
        yields each new state (the latest, so versions may skip) and None when it is deleted.
        All watchers of this process share one change stream (conversation_svc.feed)."""
        loop = asyncio.get_running_loop()
        if self._feed is None or self._feed_loop is not loop:
            self._feed, self._feed_loop = MessageFeed(self.messages), loop
        async with self._feed.subscribe(message_id) as states:
            yield states

    async def close(self) -> None:
        """Store the live-sync events still on their way; stop the shared change stream of
        watched messages, if one is open."""
        pending = [t for tasks in self._pending.values() for t in tasks]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self._feed is not None:
            await self._feed.close()
            self._feed = None

    # -- uploads ---------------------------------------------------------------------------

    async def reserve_upload(self, owner: str, since: dt.datetime, limit: int) -> ObjectId | None:
        """Take one of the owner's ``limit`` upload places of the hour and record the upload as
        STORING; None when all are taken. Atomic as ``reserve_processing`` is: one conditional
        push on the owner's quota document (``uploads.<limit-1>`` must not exist), after the
        places taken before ``since`` are given back, so racing uploads get exactly the
        places left."""
        await self.quotas.update_one(
            {"_id": owner}, {"$pull": {"uploads": {"time": {"$lt": since}}}}
        )
        upload_id, at = ObjectId(), now()
        place = {"upload_id": upload_id, "time": at}
        full = {"_id": owner, f"uploads.{limit - 1}": {"$exists": False}}
        for _ in range(2):
            try:
                await self.quotas.update_one(full, {"$push": {"uploads": place}}, upsert=True)
            except DuplicateKeyError:  # full, or a racing first place created the document
                continue
            break
        else:
            return None
        await self.uploads.insert_one(
            {"_id": upload_id, "owner": owner, "create_time": at, "status": "STORING"}
        )
        return upload_id

    async def stored_upload(self, upload_id: ObjectId, fields: Doc) -> None:
        """Mark a reserved upload STORED, with where it went and what it is."""
        await self.uploads.update_one({"_id": upload_id}, {"$set": {**fields, "status": "STORED"}})

    async def forget_upload(self, upload_id: ObjectId) -> None:
        """Remove the record of an upload that was refused or failed, and give its place of
        the hour back (a picture that was not stored does not count)."""
        await self.uploads.delete_one({"_id": upload_id})
        quota = await self.quotas.find_one_and_update(
            {"uploads.upload_id": upload_id},
            {"$pull": {"uploads": {"upload_id": upload_id}}},
            projection={"_id": 1},
        )
        if quota is None:
            return
        # As it was before: no empty list left behind, nor a document the reservation made.
        owner = quota["_id"]
        await self.quotas.update_one(
            {"_id": owner, "uploads": {"$size": 0}}, {"$unset": {"uploads": ""}}
        )
        await self.quotas.delete_one(
            {"_id": owner, "uploads": {"$exists": False}, "slots": {"$exists": False}}
        )

    # -- leases: which worker runs a message -------------------------------------------------

    async def claim(self, message_id: ObjectId, holder: str, ttl: float) -> bool:
        """Take (or renew) the message's lease for ``ttl`` seconds; False while another live
        holder has it (a message the sweeper queued again is free to take). Atomic: of two
        racing claimers exactly one wins."""
        t = now()
        try:
            await self.leases.update_one(
                {
                    "_id": message_id,
                    "$or": [{"until": {"$lt": t}}, {"holder": {"$in": [holder, REQUEUED]}}],
                },
                {"$set": {"holder": holder, "until": t + dt.timedelta(seconds=ttl)}},
                upsert=True,
            )
        except DuplicateKeyError:  # the lease exists and is held by someone else
            return False
        return True

    async def renew(self, holder: str, message_ids: Sequence[ObjectId], ttl: float) -> set[str]:
        """Extend this holder's leases; returns the ids (as strings) it still holds."""
        if not message_ids:
            return set()
        mine = {"_id": {"$in": list(message_ids)}, "holder": holder}
        until = now() + dt.timedelta(seconds=ttl)
        await self.leases.update_many(mine, {"$set": {"until": until}})
        return {str(d["_id"]) async for d in self.leases.find(mine, projection={"_id": 1})}

    async def release(self, message_id: ObjectId, holder: str) -> None:
        """Give the lease up (only if this holder has it)."""
        await self.leases.delete_one({"_id": message_id, "holder": holder})

    async def abandoned(self, at: dt.datetime, grace: float, limit: int = 100) -> list[Message]:
        """PROCESSING messages whose lease ran out before ``at`` (their worker died). Each is
        handed to one caller only: its lease moves ``grace`` seconds on, to ``requeued`` (which
        any worker may claim), so racing sweepers do not both queue it; leases of finished
        messages are dropped."""
        out: list[Message] = []
        expired = self.leases.find({"until": {"$lt": at}}, projection={"_id": 1}).limit(limit)
        for lease in await expired.to_list():
            message = await self.message_by_id(lease["_id"])
            if message is None or message.terminal:
                await self.leases.delete_one({"_id": lease["_id"], "until": {"$lt": at}})
                continue
            taken = await self.leases.update_one(
                {"_id": lease["_id"], "until": {"$lt": at}},
                {"$set": {"holder": REQUEUED, "until": at + dt.timedelta(seconds=grace)}},
            )
            if taken.modified_count:
                out.append(message)
        return out
