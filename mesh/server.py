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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.access import Gate
from mesh.errors import StartupError
from mesh.interceptors import ServiceInterceptor, Translator
from mesh.introspection import Health, add_reflection
from mesh.logs import configure_logging, get_logger
from mesh.metrics import serve_metrics
from mesh.pki import server_credentials
from mesh.ratelimit import Limit, RateLimiter
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
    # Its rate-limited methods: method name → bucket (mesh.ratelimit), e.g. {"Generate": "images"}.
    limits: Mapping[str, str] = field(default_factory=dict)


def bind(
    servicer: Any,
    add_to_server: Callable[[Any, grpc.aio.Server], None],
    name: str,
    translators: Sequence[Translator] = (),
    limits: Mapping[str, str] | None = None,
) -> ServiceBinding:
    """Pair a servicer with its generated ``add_XxxServicer_to_server`` function."""
    return ServiceBinding(
        name=name,
        add=lambda server: add_to_server(servicer, server),
        translators=translators,
        limits=dict(limits or {}),
    )


def rate_limiter(settings: ServerSettings) -> RateLimiter | None:
    """The shared per-user buckets the settings configure; None without RATE_LIMIT_REDIS_URL."""
    url, s = settings.rate_limit_redis_url, settings
    if not url:
        return None
    return RateLimiter(
        url,
        {
            "images": Limit(s.rate_limit_images_per_minute, s.rate_limit_images_burst),
            "gemini": Limit(s.rate_limit_gemini_per_minute, s.rate_limit_gemini_burst),
            "messages": Limit(s.rate_limit_messages_per_minute, s.rate_limit_messages_burst),
        },
    )


class GrpcServer:
    """An aio gRPC server with health and reflection; start/stop for tests, ``serve`` for mains."""

    def __init__(
        self, bindings: Sequence[ServiceBinding], settings: ServerSettings, gate: Gate | None = None
    ) -> None:
        self._bindings = list(bindings)
        self._settings = settings
        limit = settings.max_message_bytes
        # Every RPC but health needs a caller (mesh.access); no token configuration, no server.
        tls = settings.mesh_tls_dir is not None
        gate = self._gate = gate or Gate.from_settings(settings, tls=tls)
        translators = [t for b in self._bindings for t in b.translators]
        self._limiter = rate_limiter(settings)
        limited = {
            f"/{b.name}/{m}": bucket for b in self._bindings for m, bucket in b.limits.items()
        }
        self._server = grpc.aio.server(
            interceptors=[
                # Outermost: the span is current while ours maps errors, logs and counts.
                *server_interceptors(settings),
                ServiceInterceptor(translators, gate, self._limiter, limited),
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
        if self._settings.grpc_reflection:
            add_reflection(self._server, names)
        where, folder = f"{self._settings.host}:{self._settings.port}", self._settings.mesh_tls_dir
        try:
            if folder is not None:  # mTLS: no client certificate of the mesh CA, no connection
                name = self._settings.tls_name or program_name()
                self.port = self._server.add_secure_port(where, server_credentials(folder, name))
            else:
                self.port = self._server.add_insecure_port(where)
        except RuntimeError as exc:  # grpc's "Failed to bind to address …"
            raise StartupError(
                f"cannot listen on {where} (in use, or not an address of this machine): "
                f"set {setting_name(self._settings, 'port')} to another port"
            ) from exc
        await self._server.start()
        for name in ["", *names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "listening",
            address=self.address,
            services=names,
            tokens=self._gate.mode,
            mtls=self._settings.mesh_tls_dir is not None,
        )
        return self.port

    async def stop(self, grace: float | None = None) -> None:
        """Turn health NOT_SERVING first (so balancers drain), then stop with a grace period."""
        await self.health.enter_graceful_shutdown()
        await self._server.stop(self._settings.grace_period if grace is None else grace)
        if self._limiter is not None:
            await self._limiter.aclose()

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
    # Before anything connects: no way to check callers, no start.
    gate = Gate.from_settings(settings, tls=settings.mesh_tls_dir is not None)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(shutdown_tracing)
        server = GrpcServer(await build(settings, stack), settings, gate)
        if settings.telemetry and settings.metrics_port:
            try:
                port = serve_metrics(settings.metrics_port, settings.host)
            except OSError as exc:
                raise StartupError(
                    f"cannot serve /metrics on {settings.host}:{settings.metrics_port} "
                    f"({exc.strerror}): set {setting_name(settings, 'metrics_port')} to another "
                    "port, or 0 for none"
                ) from exc
            log.info("metrics", url=f"http://{settings.host}:{port}/metrics")
        await server.start()
        await stop.wait()
        log.info("shutting down", grace_seconds=settings.grace_period)
        await server.stop()
    log.info("stopped")


def setting_name(settings: ServerSettings, field: str) -> str:
    """The environment variable of a service's setting (``PROMPT_SVC_PORT``)."""
    return (str(settings.model_config.get("env_prefix", "")) + field).upper()


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
