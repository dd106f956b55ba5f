"""One bootstrap for the three servers: health, reflection, interceptors, signals, graceful stop.

A service's ``__main__`` builds its settings and calls ``run(settings, build)``; ``build`` is the
composition root: it creates the clients the servicers need inside an ``AsyncExitStack`` (so they
are closed on shutdown, after the server stopped) and returns the service bindings.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.errors import StartupError
from mesh.interceptors import ServiceInterceptor, Translator
from mesh.introspection import Health, add_reflection
from mesh.logs import configure_logging, get_logger
from mesh.metrics import serve_metrics
from mesh.settings import ServerSettings, program_name
from mesh.tracing import configure_tracing, server_interceptors, shutdown_tracing

log = get_logger(__name__)


@dataclass(frozen=True)
class ServiceBinding:
    """A servicer and how to add it to a server, under its full proto name."""

    name: str
    add: Callable[[grpc.aio.Server], None]
    # How the service's own dependencies fail (its database down → UNAVAILABLE ...).
    translators: Sequence[Translator] = field(default=())


def bind(
    servicer: Any,
    add_to_server: Callable[[Any, grpc.aio.Server], None],
    name: str,
    translators: Sequence[Translator] = (),
) -> ServiceBinding:
    """Pair a servicer with its generated ``add_XxxServicer_to_server`` function."""
    return ServiceBinding(
        name=name, add=lambda server: add_to_server(servicer, server), translators=translators
    )


class GrpcServer:
    """An aio gRPC server with health and reflection; start/stop for tests, ``serve`` for mains."""

    def __init__(self, bindings: Sequence[ServiceBinding], settings: ServerSettings) -> None:
        self._bindings = list(bindings)
        self._settings = settings
        limit = settings.max_message_bytes
        self._server = grpc.aio.server(
            interceptors=[
                # Outermost: the span is current while ours maps errors, logs and counts.
                *server_interceptors(settings),
                ServiceInterceptor([t for b in self._bindings for t in b.translators]),
            ],
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
                # Without this, a second process on the same port would silently share it.
                ("grpc.so_reuseport", 0),
            ],
        )
        self.health = Health()
        self.port = 0

    @property
    def address(self) -> str:
        """``host:port`` the server listens on (valid after ``start``)."""
        return f"{self._settings.host}:{self.port}"

    async def start(self) -> int:
        """Bind, start serving and mark every service SERVING; returns the bound port."""
        for binding in self._bindings:
            binding.add(self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        names = [b.name for b in self._bindings]
        add_reflection(self._server, names)
        self.port = self._server.add_insecure_port(f"{self._settings.host}:{self._settings.port}")
        await self._server.start()
        for name in ["", *names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("listening", address=self.address, services=names)
        return self.port

    async def stop(self, grace: float | None = None) -> None:
        """Turn health NOT_SERVING first (so balancers drain), then stop with a grace period."""
        await self.health.enter_graceful_shutdown()
        await self._server.stop(self._settings.grace_period if grace is None else grace)

    async def wait(self) -> None:
        """Block until the server terminates."""
        await self._server.wait_for_termination()


Builder = Callable[[Any, contextlib.AsyncExitStack], Awaitable[Sequence[ServiceBinding]]]


async def serve(settings: ServerSettings, build: Builder) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully and close the built clients."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(shutdown_tracing)
        server = GrpcServer(await build(settings, stack), settings)
        await server.start()
        if settings.telemetry and settings.metrics_port:
            port = serve_metrics(settings.metrics_port, settings.host)
            log.info("metrics", url=f"http://{settings.host}:{port}/metrics")
        await stop.wait()
        log.info("shutting down", grace_seconds=settings.grace_period)
        await server.stop()
    log.info("stopped")


def run(settings: ServerSettings, build: Builder) -> None:
    """Entry point for ``python -m <service>``; a process that cannot start (``StartupError``)
    says why in one line on stderr and exits with status 1, without a traceback."""
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing(program_name(), settings)
    try:
        asyncio.run(serve(settings, build))
    except StartupError as exc:
        print(f"{program_name()}: cannot start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
