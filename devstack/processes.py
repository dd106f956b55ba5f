"""Child processes that die with their parent, are restarted when they crash, and readiness
probes with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2

from mesh.pki import channel_credentials

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Linux-only: if devstack itself is killed (even with SIGKILL) its children get SIGTERM,
    # so nothing is orphaned. Own session: Ctrl-C reaches only devstack, which stops children
    # in order instead of all at once.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


async def start_in_waves(
    children: Sequence[Child],
    cwd: Path,
    within: float,
    started: list[Child],
    on_ready: Callable[[Child], None] = lambda child: None,
) -> None:
    """Start ``children`` wave by wave (each wave together, then wait until all of it is
    ready); each child is appended to ``started`` as it is spawned, so the caller can stop
    them whatever happens. ``on_ready`` is told of each ready child."""

    async def ready(child: Child) -> None:
        await child.wait_ready(within)
        on_ready(child)

    for wave in sorted({c.wave for c in children}):
        batch = [c for c in children if c.wave == wave]
        for child in batch:
            child.start(cwd)
            started.append(child)
        await asyncio.gather(*(ready(c) for c in batch))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (for children that need a fixed port)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Child:
    """One supervised process."""

    name: str
    argv: Sequence[str]
    ready: Callable[[], Awaitable[bool]]
    env: Mapping[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    # Children of one wave start together once every earlier wave is ready (the services
    # need the databases, not each other), so start-up costs the slowest of a wave, not the sum.
    wave: int = 0
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    _log: IO[bytes] | None = None

    def start(self, cwd: Path) -> None:
        """Spawn the process; output goes to ``log_path`` (or is inherited)."""
        if self.log_path is not None and self._log is None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(  # noqa: S603 - argv is built by devstack, not user input
            list(self.argv),
            cwd=cwd,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT if self._log else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    async def wait_ready(self, within: float) -> None:
        """Poll the readiness probe until it passes; fail fast if the process died."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"{self.name} exited during start-up{self._log_hint()}")
            if await self.ready():
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.name} was not ready after {within:.0f} s{self._log_hint()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait, then SIGKILL the whole process group; and whatever of the group
        outlived its leader (a render pool whose parent was killed)."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        self.reap_group()
        if self._log is not None:
            self._log.close()
            self._log = None

    def reap_group(self) -> None:
        """SIGKILL what is left of the ended child's process group: its own children (image_svc's
        render workers, Celery's pool) are orphaned, not ended, when it is killed outright. The
        group's id stays reserved while any member lives, so this reaches no other process."""
        if self.process is None or self.process.poll() is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    @property
    def exit_code(self) -> int | None:
        """The exit status once the process ended (negative: killed by that signal)."""
        return self.process.poll() if self.process is not None else None

    def _log_hint(self) -> str:
        return f" (see {self.log_path})" if self.log_path else ""


@dataclass
class RestartPolicy:
    """When to restart a crashed child: after ``first`` seconds, doubling up to ``cap`` while it
    keeps crashing; a child that ran ``stable_after`` seconds starts over at ``first``."""

    first: float = 1.0
    cap: float = 30.0
    stable_after: float = 60.0
    _crashes: dict[str, int] = field(default_factory=dict)

    def delay(self, child: Child) -> float:
        """Seconds to wait before restarting ``child``, which just exited."""
        if time.monotonic() - child.started_at >= self.stable_after:
            self._crashes[child.name] = 0
        crashes = self._crashes.get(child.name, 0)
        self._crashes[child.name] = crashes + 1
        return float(min(self.cap, self.first * 2**crashes))


async def supervise(
    children: Sequence[Child],
    stop: asyncio.Event,
    *,
    cwd: Path,
    start_timeout: float,
    policy: RestartPolicy | None = None,
    say: Callable[[str], None] = lambda line: print(line, flush=True),
) -> None:
    """Watch ``children`` until ``stop`` is set, restarting each one that exits (with backoff,
    said through ``say``), so one crash does not stop the stack or strand its work."""
    policy = policy or RestartPolicy()
    restarting: dict[str, asyncio.Task[None]] = {}

    async def restart(child: Child, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return
        child.start(cwd)
        try:
            await child.wait_ready(start_timeout)
        except (RuntimeError, TimeoutError) as exc:
            say(f"  ✗ {child.name} did not come back: {exc}")
        else:
            say(f"  ✓ {child.name} is back")

    try:
        while not stop.is_set():
            for child in children:
                busy = restarting.get(child.name)
                if child.alive or (busy is not None and not busy.done()):
                    continue
                child.reap_group()  # its orphans would hold ports and memory meanwhile
                delay = policy.delay(child)
                say(
                    f"\n{child.name} exited (status {child.exit_code}); restarting in {delay:g} s"
                    f"{child._log_hint()}"
                )
                restarting[child.name] = asyncio.create_task(restart(child, delay))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        for task in restarting.values():
            task.cancel()
        await asyncio.gather(*restarting.values(), return_exceptions=True)


def tcp_probe(host: str, port: int) -> Callable[[], Awaitable[bool]]:
    """Ready when the port accepts a connection."""

    async def probe() -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
        except (OSError, TimeoutError):
            return False
        writer.close()
        await writer.wait_closed()
        return True

    return probe


def grpc_health_probe(
    target: str, service: str = "", tls_dir: Path | None = None
) -> Callable[[], Awaitable[bool]]:
    """Ready when the standard gRPC health check answers SERVING (over mTLS, as the edge,
    when ``tls_dir`` holds the mesh's certificates)."""

    def connect() -> grpc.aio.Channel:
        if tls_dir is None:
            return grpc.aio.insecure_channel(target)
        return grpc.aio.secure_channel(target, channel_credentials(tls_dir, "edge"))

    async def probe() -> bool:
        async with connect() as channel:
            check = channel.unary_unary(
                "/grpc.health.v1.Health/Check",
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString,
            )
            try:
                reply = await check(health_pb2.HealthCheckRequest(service=service), timeout=1)
            except grpc.aio.AioRpcError:
                return False
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    return probe


def celery_ping_probe(broker_url: str) -> Callable[[], Awaitable[bool]]:
    """Ready when a Celery worker answers a remote-control ping on the broker."""
    from celery import Celery

    app = Celery("devstack-probe", broker=broker_url)

    async def probe() -> bool:
        try:
            replies = await asyncio.to_thread(app.control.ping, timeout=0.5)
        except OSError:
            return False
        return bool(replies)

    return probe
