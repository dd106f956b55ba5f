"""The Prometheus series of the stack, in one catalogue (docs/operations.md lists them).

Every process keeps its series in prometheus-client's default registry and serves them on its
own metrics port (``serve_metrics``). The Celery worker forks several processes; it runs
prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set in its environment,
an empty folder per worker), where each process writes its values to files in that folder and
the worker's main process sums them when scraped (``serve_worker_metrics``). Gauges therefore
say how processes combine (``multiprocess_mode``); outside that mode the argument is ignored.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from pathlib import Path
from typing import Any

import grpc
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client import multiprocess as _multiprocess

from mesh.circuit import CircuitBreaker

# Seconds: gRPC calls take from a millisecond (health) to a minute (a set of slow views).
_RPC_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_MESSAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
_CPU_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

RPC_SECONDS = Histogram(
    "photofun_rpc_server_handling_seconds",
    "Time a server took to answer a gRPC call, by service, method and status code "
    "(its _count is the number of calls).",
    ["grpc_service", "grpc_method", "grpc_code"],
    buckets=_RPC_BUCKETS,
)
RPC_CLIENT_SECONDS = Histogram(
    "photofun_rpc_client_handling_seconds",
    "Time a gRPC call the worker made took until its status, by service, method and status "
    "code (a stream: until its last message).",
    ["grpc_service", "grpc_method", "grpc_code"],
    buckets=_RPC_BUCKETS,
)
MESSAGES = Counter(
    "photofun_messages",
    "Messages that reached a terminal state, by intent and outcome (DONE, FAILED, CANCELLED) "
    "and, for FAILED, the reason.",
    ["intent", "outcome", "reason"],
)
FIRST_IMAGE_SECONDS = Histogram(
    "photofun_message_first_image_seconds",
    "Seconds from SendMessage to the message's first stored image, by intent.",
    ["intent"],
    buckets=_MESSAGE_BUCKETS,
)
DONE_SECONDS = Histogram(
    "photofun_message_done_seconds",
    "Seconds from SendMessage to DONE, by intent.",
    ["intent"],
    buckets=_MESSAGE_BUCKETS,
)
QUEUE_DEPTH = Gauge(
    "photofun_queue_depth",
    "Tasks waiting in the Celery queue (not yet taken by a worker process).",
    multiprocess_mode="max",
)
QUEUE_OLDEST_AGE = Gauge(
    "photofun_queue_oldest_age_seconds",
    "Age of the oldest task waiting in the Celery queue; 0 when it is empty.",
    multiprocess_mode="max",
)
UPSTREAM_CALLS = Counter(
    "photofun_upstream_calls",
    "Calls to an upstream (prompt_svc, image_svc, the Media Service, Gemini, an image "
    "provider), by upstream and outcome (OK, or the failure's gRPC code or reason).",
    ["upstream", "outcome"],
)
UPSTREAM_RETRIES = Counter(
    "photofun_upstream_retries",
    "Attempts made again after a transient failure, by upstream.",
    ["upstream"],
)
BREAKER_STATE = Gauge(
    "photofun_breaker_state",
    "Circuit breaker of an upstream provider: 0 closed, 1 half-open, 2 open.",
    ["provider"],
    multiprocess_mode="max",
)
RENDER_SECONDS = Histogram(
    "photofun_render_seconds",
    "Time the mock renderer took to draw one image.",
    buckets=_CPU_BUCKETS,
)
ENCODE_SECONDS = Histogram(
    "photofun_encode_seconds",
    "Time encoding one image took, by format.",
    ["format"],
    buckets=_CPU_BUCKETS,
)
WORKER_MEMORY = Gauge(
    "photofun_worker_max_resident_memory_bytes",
    "Peak resident memory of each live Celery worker process (the services report "
    "process_resident_memory_bytes).",
    multiprocess_mode="liveall",
)

_BREAKER_CODES = {"closed": 0, "half_open": 1, "open": 2}


async def _timed(continuation: Any, details: grpc.aio.ClientCallDetails, request: Any) -> Any:
    """Start the call and observe ``RPC_CLIENT_SECONDS`` when it ends; the call is returned
    as it is, never wrapped."""
    started = time.perf_counter()
    call = await continuation(details, request)
    method = details.method.decode() if isinstance(details.method, bytes) else details.method
    service, _, name = method.lstrip("/").rpartition("/")

    async def observe(done: Any) -> None:
        code = await done.code()  # the call has ended: this does not wait
        RPC_CLIENT_SECONDS.labels(service, name, code.name).observe(time.perf_counter() - started)

    def ended(done: Any) -> None:
        task = asyncio.ensure_future(observe(done))
        _observing.add(task)
        task.add_done_callback(_observing.discard)

    call.add_done_callback(ended)
    return call


class _UnaryTimer(grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await _timed(continuation, details, request)


class _StreamTimer(grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await _timed(continuation, details, request)


def client_timers() -> list[Any]:
    """Interceptors that observe ``RPC_CLIENT_SECONDS`` for a channel's unary and
    server-streaming calls, from the start to the status. Two objects: a grpc.aio channel files
    an interceptor under the first call shape it implements only."""
    return [_UnaryTimer(), _StreamTimer()]


_observing: set[asyncio.Future[None]] = set()  # kept until they ran (the loop holds weak refs)


def watch_breaker(provider: str, breaker: CircuitBreaker) -> None:
    """Report ``breaker``'s state as ``photofun_breaker_state{provider=...}`` when scraped."""
    gauge = BREAKER_STATE.labels(provider)
    if multiprocess():
        gauge.set(_BREAKER_CODES[breaker.state])  # functions cannot cross processes
    else:
        gauge.set_function(lambda: _BREAKER_CODES[breaker.state])


def multiprocess() -> bool:
    """True in prometheus-client's multiprocess mode (the Celery worker)."""
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ  # read by prometheus-client itself


def serve_metrics(port: int, host: str = "0.0.0.0") -> int:  # noqa: S104 - scraped from outside
    """Serve ``/metrics`` of this process on ``port`` (0: none); returns the bound port."""
    if port <= 0:
        return 0
    server, _ = start_http_server(port, host, registry=REGISTRY)
    bound: int = server.server_port
    return bound


def serve_worker_metrics(port: int, host: str = "0.0.0.0") -> int:  # noqa: S104
    """Serve the sum of every worker process's series from the worker's main process."""
    if port <= 0:
        return 0
    if not multiprocess():
        return serve_metrics(port, host)
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # a previous run's processes: counters restart at zero
        if not stale.stem.endswith(f"_{os.getpid()}"):
            stale.unlink()
    registry = CollectorRegistry()
    _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    server, _ = start_http_server(port, host, registry=registry)
    bound: int = server.server_port
    return bound


def worker_process_exited(pid: int) -> None:
    """Drop a dead worker process's live gauges (multiprocess mode)."""
    if multiprocess():
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def sample_worker_memory() -> None:
    """Record this worker process's peak resident memory."""
    WORKER_MEMORY.set(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
