"""One change stream for all the messages a conversation_svc process is watching.

WatchMessage used to open a change stream per watcher. Each open stream costs the database a
scan of every write (a message's views, its leases, the live-sync outbox: several writes per
message) and the service a getMore loop, so with sixteen people watching, every write was read
sixteen times. A feed opens one stream of the ``messages`` collection per process, lazily on
the first watcher, and fans its changes out in memory to the watchers of each message:

    MongoDB ──one change stream──▶ MessageFeed ──┬─▶ watcher of message A
       (each update with the           │          ├─▶ watcher of message A (another tab)
        message as it is now)          └──────────┴─▶ watcher of message B

Each update comes with the message as it is at that moment (``updateLookup``: the database
reads it while it answers the poll, one round trip fewer a change than reading it ourselves),
and the feed gives each watcher of that message the *latest* state (watchers skip versions they
already sent, so a state replaced before it was taken is not lost — the newer one contains it).
Messages nobody in this process watches are looked up too; with many replicas of the service,
that is one point read by ``_id`` per replica per change. A watcher subscribes before it reads
the message's current state, and the stream is open before ``subscribe`` returns, so no change
falls between the two.

When the stream fails after opening (the database went away longer than PyMongo's one
automatic resume), every current watcher ends with UNAVAILABLE (DATABASE_UNAVAILABLE, or
WATCH_INTERRUPTED for another failure) — its resume token continues from the last version it
saw — and the next watcher opens a new stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import ConnectionFailure, PyMongoError

from conversation_svc.model import Message
from mesh.errors import Unavailable
from mesh.logs import get_logger
from mesh.tracing import background_context

Doc = dict[str, Any]
log = get_logger(__name__)

# Updates and deletions of messages, reduced to what the feed needs to know; an update comes
# with the message as it is now (``full_document="updateLookup"``).
PIPELINE: Final[list[Doc]] = [
    {"$match": {"operationType": {"$in": ["update", "replace", "delete"]}}},
    {"$project": {"operationType": 1, "documentKey": 1, "fullDocument": 1}},
]
GONE: Final = object()  # the message was deleted: sticky, nothing follows it


def interrupted() -> Unavailable:
    return Unavailable(
        "the live feed of messages was interrupted; watch again with the last resume token",
        reason="WATCH_INTERRUPTED",
    )


def _said(exc: PyMongoError) -> Exception:
    """What watchers raise for a database error: an unreachable database as it is (the
    service's translator makes it UNAVAILABLE, DATABASE_UNAVAILABLE), anything else as an
    interrupted feed."""
    return exc if isinstance(exc, ConnectionFailure) else interrupted()


@dataclass(eq=False)
class _Watcher:
    """One subscriber: the newest state it has not taken yet, and a flag to wake it."""

    latest: object = None  # Message | GONE | Exception | None (nothing new)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, value: object) -> None:
        if self.latest is GONE or isinstance(self.latest, Exception):
            return  # the end was already said
        self.latest = value
        self.wake.set()


class MessageFeed:
    """Changes of the ``messages`` collection, fanned out by message id (one event loop)."""

    def __init__(self, messages: AsyncCollection[Doc]) -> None:
        self._messages = messages
        self._watchers: dict[ObjectId, set[_Watcher]] = {}
        self._task: asyncio.Task[None] | None = None
        self._opened: asyncio.Future[None] | None = None

    @property
    def watching(self) -> int:
        """How many watchers are subscribed (for tests and metrics)."""
        return sum(len(w) for w in self._watchers.values())

    @contextlib.asynccontextmanager
    async def subscribe(self, message_id: ObjectId) -> AsyncIterator[AsyncIterator[Message | None]]:
        """Yield the message's later states (None once it is deleted); the stream is open
        before this yields, so read the current state inside the block."""
        watcher = _Watcher()
        self._watchers.setdefault(message_id, set()).add(watcher)
        try:
            await self._open()
            yield self._states(watcher)
        finally:
            mine = self._watchers.get(message_id)
            if mine is not None:
                mine.discard(watcher)
                if not mine:
                    del self._watchers[message_id]

    async def close(self) -> None:
        """Stop following (the service is shutting down)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _open(self) -> None:
        if self._task is None or self._task.done():
            self._opened = asyncio.get_running_loop().create_future()
            # Not in the context of the call that opened it: its polls would join that call's
            # trace (a span each, for the life of the process) and its logs that call's id.
            self._task = asyncio.create_task(
                self._follow(self._opened), name="message-feed", context=background_context()
            )
        assert self._opened is not None
        await asyncio.shield(self._opened)

    @staticmethod
    async def _states(watcher: _Watcher) -> AsyncIterator[Message | None]:
        while True:
            await watcher.wake.wait()
            watcher.wake.clear()
            value, watcher.latest = watcher.latest, None
            if isinstance(value, Exception):
                raise value
            if value is GONE:
                yield None
                return
            if isinstance(value, Message):
                yield value

    async def _follow(self, opened: asyncio.Future[None]) -> None:
        try:
            stream = await self._messages.watch(PIPELINE, full_document="updateLookup")
            async with stream:
                opened.set_result(None)
                async for change in stream:
                    oid = change["documentKey"]["_id"]
                    if oid not in self._watchers:
                        continue
                    doc = change.get("fullDocument")
                    if change["operationType"] == "delete":
                        self._publish(oid, GONE)
                    elif doc is not None:  # None: deleted since; its delete follows
                        self._publish(oid, Message.from_doc(doc))
            log.warning("the change stream of messages ended (the collection was dropped)")
            self._fail_all(interrupted())
        except asyncio.CancelledError:
            self._fail_all(interrupted())
            raise
        except PyMongoError as exc:
            if not opened.done():
                opened.set_exception(exc)  # the subscriber's caller translates it
                return
            log.warning("the change stream of messages failed: %s", exc)
            self._fail_all(_said(exc))

    def _publish(self, oid: ObjectId, value: object) -> None:
        for watcher in self._watchers.get(oid, ()):
            watcher.offer(value)

    def _fail_all(self, error: Exception) -> None:
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.offer(error)
