"""The shared change stream of watched messages (conversation_svc.feed), on the real embedded
MongoDB-wire server: one stream for any number of watchers, each sees its own message only, in
version order, the latest state when it falls behind, None when the message is deleted."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bson import ObjectId
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from pymongo import AsyncMongoClient, monitoring

from conversation_svc.model import Message, NewMessage
from conversation_svc.store import Store, now

pytestmark = pytest.mark.asyncio


class ChangeStreamsOpened(monitoring.CommandListener):
    """Counts the change streams a client opens (aggregate commands with $changeStream), and
    notes the trace each command ran in (PyMongo calls listeners in the issuing task)."""

    def __init__(self) -> None:
        self.opened = 0
        self.traced: list[tuple[str, int]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        trace_id = trace.get_current_span().get_span_context().trace_id
        self.traced.append((event.command_name, trace_id))
        pipeline = event.command.get("pipeline") or []
        if event.command_name == "aggregate" and any("$changeStream" in s for s in pipeline):
            self.opened += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def streams() -> ChangeStreamsOpened:
    return ChangeStreamsOpened()


@pytest.fixture
async def watched_store(
    mongo_uri: str, database: str, streams: ChangeStreamsOpened
) -> AsyncIterator[Store]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_uri, event_listeners=[streams])
    store = Store(client, database)
    await store.ensure_indexes()
    yield store
    await store.close()
    await client.close()


async def new_message(store: Store, prompt: str) -> Message:
    conversation = await store.create_conversation("alice", "feed")
    deadline = now() + dt.timedelta(minutes=5)
    message, _ = await store.insert_message(
        conversation, NewMessage(prompt=prompt, request_id=str(ObjectId()), deadline=deadline)
    )
    return message


async def bump(store: Store, message_id: ObjectId, reply: str) -> None:
    await store.messages.update_one(
        {"_id": message_id}, {"$set": {"reply": reply}, "$inc": {"version": 1}}
    )


async def next_state(states: AsyncIterator[Message | None]) -> Message | None:
    return await asyncio.wait_for(anext(states), 10)


async def test_many_watchers_share_one_change_stream_and_each_sees_only_its_message(
    watched_store: Store, streams: ChangeStreamsOpened
) -> None:
    store = watched_store
    messages = [await new_message(store, f"a car {i}") for i in range(4)]
    async with contextlib.AsyncExitStack() as stack:
        ids = [m.id for m in messages] * 2  # two watchers of each message
        states = [await stack.enter_async_context(store.watch_message(oid)) for oid in ids]
        for i, message in enumerate(messages):
            await bump(store, message.id, f"reply {i}")
        for k, iterator in enumerate(states):
            state = await next_state(iterator)
            assert state is not None
            assert state.id == messages[k % 4].id
            assert state.version == 2
            assert state.reply == f"reply {k % 4}"
    assert streams.opened == 1  # eight watchers, one stream


async def test_the_feed_polls_outside_the_trace_of_the_call_that_opened_it(
    watched_store: Store, streams: ChangeStreamsOpened
) -> None:
    store = watched_store
    message = await new_message(store, "a kite")
    call = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with trace.use_span(NonRecordingSpan(call)):  # as inside a WatchMessage call
        async with store.watch_message(message.id) as states:
            await bump(store, message.id, "a change")
            assert await next_state(states) is not None
    feed = [name for name, trace_id in streams.traced if name in ("aggregate", "getMore")]
    assert feed  # the stream was opened and polled ...
    assert all(  # ... never in the call's trace (a span a poll, for the life of the process)
        trace_id != call.trace_id
        for name, trace_id in streams.traced
        if name in ("aggregate", "getMore")
    )


async def test_a_change_right_after_subscribing_is_not_missed(watched_store: Store) -> None:
    store = watched_store
    message = await new_message(store, "a boat")
    for n in range(5):  # subscribe, change at once, then read: the change always arrives
        async with store.watch_message(message.id) as states:
            await bump(store, message.id, f"take {n}")
            state = await next_state(states)
            assert state is not None
            assert state.version == n + 2


async def test_a_watcher_that_falls_behind_gets_the_latest_state(watched_store: Store) -> None:
    store = watched_store
    message = await new_message(store, "a house")
    async with store.watch_message(message.id) as states:
        for n in range(10):
            await bump(store, message.id, f"reply {n}")
        seen: list[int] = []
        while not seen or seen[-1] < 11:
            state = await next_state(states)
            assert state is not None
            seen.append(state.version)
    assert seen == sorted(set(seen))  # never an older state after a newer one
    assert seen[-1] == 11


async def test_deleting_a_message_ends_its_watchers_and_not_the_others(
    watched_store: Store,
) -> None:
    store = watched_store
    doomed, kept = await new_message(store, "a tree"), await new_message(store, "a dog")
    async with (
        store.watch_message(doomed.id) as gone,
        store.watch_message(kept.id) as alive,
    ):
        await store.messages.delete_one({"_id": doomed.id})
        assert await next_state(gone) is None
        await bump(store, kept.id, "still here")
        state = await next_state(alive)
        assert state is not None
        assert state.reply == "still here"


async def test_leaving_watchers_are_forgotten(watched_store: Store) -> None:
    store = watched_store
    message = await new_message(store, "a lamp")
    async with store.watch_message(message.id), store.watch_message(message.id):
        assert store._feed is not None
        assert store._feed.watching == 2
    assert store._feed.watching == 0
