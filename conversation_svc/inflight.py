"""Many messages in flight in one worker process: leases, heartbeats and per-user fairness.

The worker runs Celery's threads pool: each Celery thread hands its message to the process's one
event loop and waits, so a process keeps ``CONVERSATION_SVC_WORKER_CONCURRENCY`` messages moving
while the models think. Around each message this module

- **claims a lease** in MongoDB (``Store.claim``) before anything else, and renews every lease
  of the process in one write every ``ttl / 3`` seconds. A second delivery of a task whose
  message another live worker runs ends at once (that worker runs it; should it die, the
  sweeper queues the message again), so one message never runs twice at the same time and
  duplicates hold no thread; a second delivery to the process that runs the
  message (the lease is already its own) waits for that run to end. A process that cannot renew
  a lease (it was paused past ``ttl`` and someone else took over) stops that message. When a
  worker dies its leases run out and the sweeper queues the messages again
  (``Store.abandoned``);
- **limits each user** to ``per_user`` messages at once in this process; the user's other
  messages wait (holding their lease) so one user's large sets cannot take every slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from bson import ObjectId

from conversation_svc.model import Message
from conversation_svc.store import Store
from mesh.logs import get_logger
from mesh.tracing import background_context

log = get_logger(__name__)


def holder_name() -> str:
    """This process's name on its leases: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class PerKeyLimit:
    """At most ``limit`` holders per key; keys nobody holds or waits for are forgotten."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._gates: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[bool]:
        """Wait for one of the key's places and keep it for the block; yields whether it had
        to wait."""
        gate, users = self._gates.get(key, (asyncio.Semaphore(self.limit), 0))
        self._gates[key] = (gate, users + 1)
        try:
            waited = gate.locked()
            async with gate:
                yield waited
        finally:
            gate, users = self._gates[key]
            if users <= 1:
                del self._gates[key]
            else:
                self._gates[key] = (gate, users - 1)

    def busy(self, key: str) -> int:
        """How many hold or wait for the key."""
        return self._gates.get(key, (None, 0))[1]


@dataclass(frozen=True)
class InFlightLimits:
    """The worker's limits (settings ``CONVERSATION_SVC_WORKER_PER_USER``, ``_LEASE_TTL``)."""

    per_user: int = 2
    lease_ttl: float = 15.0


class InFlight:
    """Runs messages under a lease and the per-user limit; one per worker process (its loop)."""

    def __init__(
        self, store: Store, limits: InFlightLimits = InFlightLimits(), holder: str = ""
    ) -> None:
        self._store = store
        self._limits = limits
        self.holder = holder or holder_name()
        self._users = PerKeyLimit(limits.per_user)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._held: dict[str, asyncio.Event] = {}  # claiming or running here; set when ended
        self._lost: set[str] = set()
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def count(self) -> int:
        """Messages this process holds now (running or waiting for their user's turn)."""
        return len(self._running)

    async def run(self, message_id: str, work: Callable[[str | Message], Awaitable[None]]) -> None:
        """Claim the message, wait for its user's turn, run ``work`` on it, release it.
        ``work`` gets the message as read once the lease was ours when nothing waited since
        (it need not read it again), else its id."""
        oid = ObjectId(message_id)
        task = asyncio.current_task()
        assert task is not None
        # Another delivery of this message in this process (Redis re-delivers a task still
        # running past its visibility timeout; the sweeper re-queues one whose lease this
        # process, paused, failed to renew): the lease is this process's either way, so only
        # this waits for the first run to end. Then it claims as any delivery does.
        while (other := self._held.get(message_id)) is not None:
            log.info("this process runs the message already; waiting for that run", id=message_id)
            await other.wait()
        ended = self._held[message_id] = asyncio.Event()
        try:
            message = await self._claim(oid)
            if message is None:
                return
            self._running[message_id] = task
            self._start_heartbeat()
            async with self._users.hold(message.owner) as waited:
                await work(message_id if waited else message)
        except asyncio.CancelledError:
            if message_id not in self._lost:
                raise
            log.warning("lease lost: another worker runs the message now", message_id=message_id)
        finally:
            self._running.pop(message_id, None)
            self._lost.discard(message_id)
            try:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._store.release(oid, self.holder))
            finally:
                del self._held[message_id]
                ended.set()

    async def _claim(self, oid: ObjectId) -> Message | None:
        """The message, read once its lease is ours; None when it is gone or terminal, or
        when another live worker holds its lease: that worker runs it, and should it die, its
        lease runs out and the sweeper queues the message again. So a duplicate delivery ends
        at once instead of holding one of this process's threads while it waits."""
        if not await self._store.claim(oid, self.holder, self._limits.lease_ttl):
            log.info("another worker runs the message; this delivery ends", id=str(oid))
            return None
        message = await self._store.message_by_id(oid)
        return None if message is None or message.terminal else message

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            # Outside the trace of the message that happened to start it (it serves them all).
            self._heartbeat = asyncio.create_task(
                self._beat(), name="lease-heartbeat", context=background_context()
            )

    async def _beat(self) -> None:
        """Renew every lease of this process in one write, until none is left."""
        while self._running:
            await asyncio.sleep(self._limits.lease_ttl / 3)
            ids = list(self._running)
            try:
                held = await self._store.renew(
                    self.holder, [ObjectId(i) for i in ids], self._limits.lease_ttl
                )
            except Exception as exc:  # MongoDB away: try again next beat
                log.warning("could not renew leases", error=type(exc).__name__)
                continue
            for message_id in ids:
                task = self._running.get(message_id)
                if message_id not in held and task is not None:
                    self._lost.add(message_id)
                    task.cancel()

    async def aclose(self) -> None:
        """Stop the heartbeat (the leases run out by themselves)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
