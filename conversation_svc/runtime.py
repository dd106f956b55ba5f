"""The worker's asyncio side: one event loop thread per worker process, and its clients.

Celery tasks are synchronous; the pipeline is async. Each worker process gets one background
event loop, created lazily and rebuilt when the pid changes (after a fork), and the task body
waits on ``run_coroutine_threadsafe``. A loop per task (``asyncio.run``) would close the loop the
cached gRPC channels belong to ("Event loop is closed"), and channels must never be created
before the fork (docs/platform-notes.md).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import grpc
from opentelemetry import context as otel_context
from pymongo import AsyncMongoClient

from conversation_svc.pipeline import Limits, Pipeline
from conversation_svc.settings import Settings
from conversation_svc.store import Store
from mesh.media import MediaClient
from mesh.settings import MiB
from mesh.tracing import client_interceptors
from photofun.v1 import image_service_pb2_grpc, prompt_service_pb2_grpc

T = TypeVar("T")
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * MiB),
    ("grpc.max_send_message_length", 8 * MiB),
    # Spread calls over every address the name resolves to (several replicas behind one DNS
    # name in compose or Kubernetes), instead of pinning the first one.
    ("grpc.lb_policy_name", "round_robin"),
    # After an outage gRPC waits up to 120 s (its default) before it tries to connect again, so
    # a restarted service would keep failing messages for minutes; at most 1 s here, which the
    # pipeline's own retries (0.5 s, 1 s) outlast.
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def _target(address: str) -> str:
    """``host:port`` → ``dns:///host:port`` so the resolver sees every replica."""
    return address if "://" in address or address.startswith("dns:") else f"dns:///{address}"


class LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="pipeline", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


class WorkerRuntime:
    """Per-process state of the worker: the loop and the pipeline built on it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._loop: LoopThread | None = None
        self._pipeline: Pipeline | None = None

    def loop(self) -> LoopThread:
        """This process's loop (a fresh one after a fork)."""
        with self._lock:
            if self._loop is None or self._loop.pid != os.getpid():
                self._loop = LoopThread()
                self._pipeline = None
            return self._loop

    async def pipeline(self) -> Pipeline:
        """The pipeline and its clients, created on first use inside the loop."""
        if self._pipeline is None:
            s = self._settings
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
                s.mongodb_uri,
                tz_aware=True,
                serverSelectionTimeoutMS=int(s.mongodb_timeout * 1000),
            )
            prompt = grpc.aio.insecure_channel(
                _target(s.prompt_service_url),
                options=_CHANNEL_OPTIONS,
                interceptors=client_interceptors(s),
            )
            image = grpc.aio.insecure_channel(
                _target(s.image_service_url),
                options=_CHANNEL_OPTIONS,
                interceptors=client_interceptors(s),
            )
            self._pipeline = Pipeline(
                Store(client, s.mongodb_database),
                prompt_service_pb2_grpc.PromptServiceStub(prompt),
                image_service_pb2_grpc.ImageServiceStub(image),
                MediaClient(s.media_service_url, public_url=s.media_public_url),
                Limits(prompt_timeout=s.prompt_timeout, image_timeout=s.image_timeout),
            )
        return self._pipeline

    def process(self, message_id: str) -> None:
        """Run the pipeline for one message, blocking the calling (Celery) thread."""

        # The Celery task's span is current in this thread; the loop thread has its own context.
        caller = otel_context.get_current()

        async def go() -> None:
            token = otel_context.attach(caller)
            try:
                await (await self.pipeline()).run(message_id)
            finally:
                otel_context.detach(token)

        self.loop().run(go(), timeout=self._settings.message_timeout + 60)
