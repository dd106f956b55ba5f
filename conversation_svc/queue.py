"""Handing work to the Celery worker, and taking it back (cancel)."""

from __future__ import annotations

import asyncio
from typing import Protocol

from celery import Celery

from mesh.errors import Unavailable

TASK_NAME = "photofun.process_message"


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
        try:
            await asyncio.to_thread(
                self._app.send_task,
                TASK_NAME,
                args=[message_id],
                task_id=request_id,
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
