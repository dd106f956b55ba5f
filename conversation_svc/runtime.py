"""The worker's asyncio side: one event loop thread per worker process, and its clients.

Celery tasks are synchronous; the pipeline is async. Each worker process gets one background
event loop, created lazily and rebuilt when the pid changes (after a fork), and the task body
waits on ``run_coroutine_threadsafe``. The worker runs Celery's threads pool, so many Celery
threads wait at once, each on its own message, and the one loop keeps them all moving
(``conversation_svc.inflight`` adds the lease and the per-user limit). A loop per task
(``asyncio.run``) would close the loop the cached gRPC channels belong to ("Event loop is
closed"), and channels must never be created before a fork (docs/platform-notes.md).
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

from conversation_svc.inflight import InFlight, InFlightLimits
from conversation_svc.pipeline import Limits, Pipeline
from conversation_svc.settings import Settings
from conversation_svc.store import Store
from mesh.access import service_credentials
from mesh.media import MediaClient
from mesh.metrics import client_timers
from mesh.pki import channel_credentials
from mesh.settings import MiB, ServerSettings
from mesh.tracing import client_interceptors
from photofun.v1 import image_service_pb2_grpc, prompt_service_pb2_grpc

T = TypeVar("T")
# The identity the worker calls other services with: it acts for the users whose messages it
# runs, which prompt_svc and image_svc allow only to MESH_TRUSTED_CALLERS.
WORKER_IDENTITY = "conversation_svc"
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * MiB),
    ("grpc.max_send_message_length", 8 * MiB),
    # Spread calls over every address the name resolves to (several replicas behind one DNS
    # name in compose or Kubernetes), instead of pinning the first one.
    ("grpc.lb_policy_name", "round_robin"),
    # After an outage gRPC waits up to 120 s (its default) before it tries to connect again, so
    # a restarted service would keep failing messages for minutes; at most 1 s here, well
    # inside the pipeline's own retry budget.
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def _target(address: str) -> str:
    """``host:port`` → ``dns:///host:port`` so the resolver sees every replica."""
    return address if "://" in address or address.startswith("dns:") else f"dns:///{address}"


def mesh_channel(address: str, settings: ServerSettings) -> grpc.aio.Channel:
    """A channel to prompt_svc or image_svc on which the worker proves it is
    ``WORKER_IDENTITY`` (mesh.access), so the user it names in each call is believed: its
    client certificate with MESH_TLS_DIR, a service token otherwise."""
    folder = settings.mesh_tls_dir
    interceptors = [
        *client_interceptors(settings),  # outermost: the call's span carries traceparent
        *client_timers(),  # photofun_rpc_client_handling_seconds
        *service_credentials(settings, WORKER_IDENTITY, tls=folder is not None),
    ]
    if folder is not None:
        return grpc.aio.secure_channel(
            _target(address),
            channel_credentials(folder, WORKER_IDENTITY),
            options=_CHANNEL_OPTIONS,
            interceptors=interceptors,
        )
    return grpc.aio.insecure_channel(
        _target(address), options=_CHANNEL_OPTIONS, interceptors=interceptors
    )


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

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop, wait for its thread and close it."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()


class WorkerRuntime:
    """Per-process state of the worker: the loop and the pipeline built on it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._loop: LoopThread | None = None
        self._pipeline: Pipeline | None = None
        self._inflight: InFlight | None = None

    def loop(self) -> LoopThread:
        """This process's loop (a fresh one after a fork)."""
        with self._lock:
            if self._loop is None or self._loop.pid != os.getpid():
                self._loop = LoopThread()
                self._pipeline = None
                self._inflight = None
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
            prompt = mesh_channel(s.prompt_service_url, s)
            image = mesh_channel(s.image_service_url, s)
            self._pipeline = Pipeline(
                Store(client, s.mongodb_database),
                prompt_service_pb2_grpc.PromptServiceStub(prompt),
                image_service_pb2_grpc.ImageServiceStub(image),
                MediaClient(s.media_service_url, public_url=s.media_public_url),
                Limits(
                    prompt_timeout=s.prompt_timeout,
                    image_timeout=s.image_timeout,
                    retry_budget=s.retry_budget,
                ),
            )
        return self._pipeline

    async def inflight(self) -> InFlight:
        """This process's leases and per-user limit (built with the pipeline)."""
        pipeline = await self.pipeline()
        if self._inflight is None:
            self._inflight = InFlight(
                pipeline.store,
                InFlightLimits(
                    per_user=self._settings.worker_per_user, lease_ttl=self._settings.lease_ttl
                ),
            )
        return self._inflight

    def process(self, message_id: str) -> None:
        """Run the pipeline for one message, blocking the calling (Celery) thread."""

        # The Celery task's span is current in this thread; the loop thread has its own context.
        caller = otel_context.get_current()

        async def go() -> None:
            token = otel_context.attach(caller)
            try:
                pipeline = await self.pipeline()
                await (await self.inflight()).run(message_id, pipeline.run)
            finally:
                otel_context.detach(token)

        self.loop().run(go(), timeout=self._settings.message_timeout + 60)
