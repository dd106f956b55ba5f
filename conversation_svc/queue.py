"""Handing work to the Celery worker, and taking it back (cancel)."""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Protocol

import redis
from celery import Celery
from opentelemetry.propagate import inject

from mesh.errors import Unavailable
from mesh.metrics import QUEUE_DEPTH, QUEUE_OLDEST_AGE
from mesh.tracing import span

TASK_NAME = "photofun.process_message"
QUEUE_NAME = "celery"  # Celery's default queue: a Redis list, pushed left, popped right
ENQUEUED_AT = "photofun_enqueued_at"  # task header: epoch seconds when SendMessage queued it


class WorkQueue(Protocol):
    """Where SendMessage puts the work."""

    async def enqueue(self, message_id: str, request_id: str) -> None:
        """Queue the pipeline for a message; the task id is the request id."""
        ...

    async def revoke(self, request_id: str) -> None:
        """Ask workers not to start (or to stop caring about) a task."""
        ...


class CeleryQueue:
    """The Celery/Redis implementation; calls run in a thread (the client is synchronous)."""

    def __init__(self, app: Celery, *, publish_timeout: float = 5.0) -> None:
        self._app = app
        self._timeout = publish_timeout

    async def enqueue(self, message_id: str, request_id: str) -> None:
        """Publish the task; UNAVAILABLE when the broker cannot take it."""
        headers: dict[str, str | float] = {ENQUEUED_AT: time.time()}
        try:
            with span("enqueue", **{"messaging.message.id": request_id}):
                inject(headers)  # traceparent: the worker's span continues this trace
                await asyncio.to_thread(
                    self._app.send_task,
                    TASK_NAME,
                    args=[message_id],
                    task_id=request_id,
                    headers=headers,
                    retry=True,
                    retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.5},
                )
        except Exception as exc:  # kombu raises many connection error types
            raise Unavailable(
                "the work queue is unavailable; the message was not stored",
                reason="QUEUE_UNAVAILABLE",
            ) from exc

    async def revoke(self, request_id: str) -> None:
        """Best effort: the pipeline also checks the message status between steps."""
        await asyncio.to_thread(self._app.control.revoke, request_id)


class QueueGauges:
    """``photofun_queue_depth`` and ``photofun_queue_oldest_age_seconds``, read from Redis when
    Prometheus scrapes (NaN while Redis does not answer)."""

    def __init__(self, broker_url: str) -> None:
        self._redis = redis.Redis.from_url(broker_url, socket_timeout=1, socket_connect_timeout=1)
        QUEUE_DEPTH.set_function(self.depth)
        QUEUE_OLDEST_AGE.set_function(self.oldest_age)

    def depth(self) -> float:
        """Tasks waiting in the queue."""
        try:
            return float(self._redis.llen(QUEUE_NAME))
        except redis.RedisError:
            return math.nan

    def oldest_age(self) -> float:
        """Seconds the oldest waiting task has waited (its ``ENQUEUED_AT`` header)."""
        try:
            raw = self._redis.lindex(QUEUE_NAME, -1)
        except redis.RedisError:
            return math.nan
        if raw is None:
            return 0.0
        try:
            queued = float(json.loads(raw)["headers"][ENQUEUED_AT])
        except (ValueError, KeyError, TypeError):
            return 0.0  # a task queued by something else: its age is unknown
        return max(time.time() - queued, 0.0)

    def close(self) -> None:
        """Close the Redis connections."""
        self._redis.close()
