"""Leases, heartbeats and the per-user limit of the worker, and the sweeper that queues a dead
worker's messages again; on the real MongoDB-wire server and Redis."""

from __future__ import annotations

import asyncio
import datetime as dt

import redis
from bson import ObjectId
from celery import Celery

from conversation_svc import sweeper
from conversation_svc.inflight import InFlight, InFlightLimits
from conversation_svc.model import NewMessage, Status
from conversation_svc.queue import CeleryQueue
from conversation_svc.store import Store, now


async def _message(store: Store, owner: str = "alice", n: int = 0) -> str:
    conversation = await store.create_conversation(owner, "")
    sent, _ = await store.insert_message(
        conversation,
        NewMessage(
            prompt="hello", request_id=f"req-{owner}-{n}", deadline=now() + dt.timedelta(minutes=5)
        ),
    )
    return str(sent.id)


async def test_one_message_never_runs_in_two_workers_at_once(store: Store) -> None:
    message_id = await _message(store)
    limits = InFlightLimits(lease_ttl=1.0)
    first, second = InFlight(store, limits), InFlight(store, limits)
    running: list[str] = []
    overlaps: list[int] = []

    async def work(name: str) -> None:
        running.append(name)
        overlaps.append(len(running))
        await asyncio.sleep(1.5)  # longer than the lease: the heartbeat keeps it
        running.remove(name)
        if name == "first":
            await store.finish(ObjectId(message_id), Status.DONE)

    a = asyncio.create_task(first.run(message_id, lambda _: work("first")))
    await asyncio.sleep(0.2)
    b = asyncio.create_task(second.run(message_id, lambda _: work("second")))
    # The second delivery found the lease held by a live worker and ended at once, holding no
    # thread while the first runs (were the first to die, the sweeper would queue it again).
    await asyncio.wait_for(b, 1.0)
    assert not a.done()
    await a
    assert overlaps == [1]
    assert await store.leases.count_documents({}) == 0


async def test_a_second_delivery_to_the_process_running_the_message_waits_for_that_run(
    store: Store,
) -> None:
    # The lease is this process's already, so claiming cannot keep the second delivery out
    # (Redis re-delivers a task still running past its visibility timeout).
    message_id = await _message(store)
    inflight = InFlight(store, InFlightLimits(lease_ttl=1.0))
    running: list[str] = []
    overlaps: list[int] = []

    async def work(name: str, finish: bool) -> None:
        running.append(name)
        overlaps.append(len(running))
        await asyncio.sleep(1.5)  # longer than the lease: the heartbeat keeps it
        running.remove(name)
        if finish:
            await store.finish(ObjectId(message_id), Status.DONE)

    # The first run ends without finishing the message (its task failed, say): the second
    # delivery then runs it, after the first, never beside it; a third finds it DONE.
    a = asyncio.create_task(inflight.run(message_id, lambda _: work("first", False)))
    await asyncio.sleep(0.2)
    b = asyncio.create_task(inflight.run(message_id, lambda _: work("second", True)))
    await asyncio.sleep(0.2)
    c = asyncio.create_task(inflight.run(message_id, lambda _: work("third", True)))
    await asyncio.gather(a, b, c)
    assert overlaps == [1, 1]
    assert await store.leases.count_documents({}) == 0


async def test_a_worker_that_lost_its_lease_stops_that_message(store: Store) -> None:
    message_id = await _message(store)
    inflight = InFlight(store, InFlightLimits(lease_ttl=1.0))
    started = asyncio.Event()

    async def work(_: object) -> None:
        started.set()
        await asyncio.sleep(30)

    task = asyncio.create_task(inflight.run(message_id, work))
    await started.wait()
    await store.leases.update_one({}, {"$set": {"holder": "someone-else"}})
    await asyncio.wait_for(task, 5)  # stopped quietly at the next heartbeat
    assert await store.leases.count_documents({"holder": "someone-else"}) == 1


async def test_one_user_gets_at_most_per_user_places_and_others_are_not_held_up(
    store: Store,
) -> None:
    inflight = InFlight(store, InFlightLimits(per_user=2, lease_ttl=5.0))
    busy: dict[str, int] = {}
    peak: dict[str, int] = {}
    bob_done = asyncio.Event()

    async def work(owner: str) -> None:
        busy[owner] = busy.get(owner, 0) + 1
        peak[owner] = max(peak.get(owner, 0), busy[owner])
        await (bob_done.wait() if owner == "alice" else asyncio.sleep(0.1))
        busy[owner] -= 1
        if owner == "bob":
            bob_done.set()

    alice = [await _message(store, "alice", n) for n in range(4)]
    bob = await _message(store, "bob")
    tasks = [asyncio.create_task(inflight.run(m, lambda _: work("alice"))) for m in alice]

    async def held(count: int) -> None:
        while inflight.count < count:  # noqa: ASYNC110 - a counter, not an event, is watched
            await asyncio.sleep(0.02)

    await asyncio.wait_for(held(4), 10)  # all four are held (leased), two of them wait
    tasks.append(asyncio.create_task(inflight.run(bob, lambda _: work("bob"))))
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert peak == {"alice": 2, "bob": 1}


async def test_the_sweeper_queues_a_dead_workers_message_again_once(
    store: Store, redis_url: str
) -> None:
    alive, dead, finished = [await _message(store, "carol", n) for n in range(3)]
    await store.claim(ObjectId(alive), "live-worker", 60)
    await store.claim(ObjectId(dead), "dead-worker", 0.05)
    await store.claim(ObjectId(finished), "dead-worker", 0.05)
    await store.finish(ObjectId(finished), Status.DONE)
    await asyncio.sleep(0.1)
    app = Celery("test-sweeper", broker=redis_url)
    broker = redis.Redis.from_url(redis_url)
    broker.delete("celery")
    queue = CeleryQueue(app)

    await sweeper.sweep_once(store, queue, requeue_grace=60)
    await sweeper.sweep_once(store, queue, requeue_grace=60)

    queued = broker.lrange("celery", 0, -1)
    assert len(queued) == 1
    assert dead.encode() in queued[0]
    assert await store.leases.count_documents({"_id": ObjectId(finished)}) == 0
    # Any worker may take the requeued message at once.
    assert await store.claim(ObjectId(dead), "new-worker", 5)
    app.close()
