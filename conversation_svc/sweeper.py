"""Settles messages left PROCESSING past their deadline, so none stays PROCESSING forever, and
queues again the messages a dead worker held.

A worker renews the lease of every message it holds (``conversation_svc.inflight``); when a
worker dies its leases run out, and the next pass queues those messages again, so they resume
within the lease time plus one sweep interval instead of the broker's visibility timeout. The
deadline is the last line for everything else (the broker lost the task, a bug). Guarded updates
make concurrent sweepers on several replicas safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from conversation_svc.model import Failure, Status
from conversation_svc.queue import WorkQueue
from conversation_svc.store import Store, now
from conversation_svc.words import say
from mesh.logs import get_logger

log = get_logger(__name__)
TIMED_OUT = "TIMED_OUT"


EVENTS_KEPT = dt.timedelta(hours=1)  # live-sync events; resuming uses the change history


async def sweep_once(
    store: Store, queue: WorkQueue | None = None, requeue_grace: float = 60.0
) -> int:
    """Fail every expired PROCESSING message, queue again those whose worker died (when a
    ``queue`` is given) and trim old live-sync events; returns how many messages were settled."""
    await store.trim_events(now() - EVENTS_KEPT)
    settled = 0
    at = now()
    for message in await store.expired(at):
        failure = Failure(TIMED_OUT, say("failure.timed_out", message))
        if await store.finish(message.id, Status.FAILED, failure=failure) is not None:
            settled += 1
            log.warning("settled a stale message", message_id=str(message.id))
    await store.prune_slots(at)
    if queue is not None:
        for message in await store.abandoned(at, requeue_grace):
            log.warning("its worker died; queued again", message_id=str(message.id))
            await queue.enqueue(str(message.id), message.request_id)
    return settled


async def run_forever(
    store: Store, interval: float, queue: WorkQueue | None = None, requeue_grace: float = 60.0
) -> None:
    """Sweep every ``interval`` seconds until cancelled."""
    while True:
        with contextlib.suppress(Exception):
            await sweep_once(store, queue, requeue_grace)
        await asyncio.sleep(interval)
