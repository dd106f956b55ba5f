"""Settles messages left PROCESSING past their deadline, so none stays PROCESSING forever.

A crashed worker's task comes back through Redis (acks late + visibility timeout) and usually
finishes long before the deadline; the sweeper is the last line for everything else (the broker
lost the task, every retry failed to start, a bug). Guarded updates make concurrent sweepers on
several replicas safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from conversation_svc.model import Failure, Status
from conversation_svc.store import Store, now
from conversation_svc.words import say
from mesh.logs import get_logger

log = get_logger(__name__)
TIMED_OUT = "TIMED_OUT"


EVENTS_KEPT = dt.timedelta(hours=1)  # live-sync events; resuming uses the change history


async def sweep_once(store: Store) -> int:
    """Fail every expired PROCESSING message and trim old live-sync events; returns how many
    messages were settled."""
    await store.trim_events(now() - EVENTS_KEPT)
    settled = 0
    at = now()
    for message in await store.expired(at):
        failure = Failure(TIMED_OUT, say("failure.timed_out", message))
        if await store.finish(message.id, Status.FAILED, failure=failure) is not None:
            settled += 1
            log.warning("settled a stale message", message_id=str(message.id))
    await store.prune_slots(at)
    return settled


async def run_forever(store: Store, interval: float) -> None:
    """Sweep every ``interval`` seconds until cancelled."""
    while True:
        with contextlib.suppress(Exception):
            await sweep_once(store)
        await asyncio.sleep(interval)
