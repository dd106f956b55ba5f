"""The whole stack as real processes on free ports and throwaway data: for e2e tests and
benchmarks (the same processes `make run` starts)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from devstack.processes import Child, start_in_waves
from devstack.stack import Ports, StackConfig, plan


@dataclass
class RunningStack:
    """Handles on the running children and where they listen."""

    ports: Ports
    env: dict[str, str]
    children: dict[str, Child]
    root: Path

    @property
    def conversation(self) -> str:
        """Address of conversation_svc."""
        return self.env["CONVERSATION_SERVICE_URL"]

    def kill(self, name: str) -> None:
        """SIGKILL a child's whole process group (a crash, not a shutdown)."""
        child = self.children[name]
        assert child.process is not None
        os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()

    async def restart(self, name: str) -> None:
        """Start a stopped or killed child again and wait until it is ready; one that dies
        while starting is started once more, as `make run`'s supervisor would."""
        child = self.children[name]
        for attempt in (1, 2):
            child.stop()
            child.start(Path.cwd())
            try:
                await child.wait_ready(60)
                return
            except RuntimeError:  # exited during start-up
                if attempt == 2:
                    raise


@contextlib.asynccontextmanager
async def running_stack(
    root: Path,
    extra_env: Mapping[str, str],
    *,
    edge: Literal["envoy", "bridge"] = "bridge",
    tls: bool = False,
) -> AsyncIterator[RunningStack]:
    """Start every part on free ports with throwaway data; stop them all afterwards. The page's
    gRPC-web edge is the bridge unless ``edge="envoy"`` (tests that need Envoy start their own,
    next to the bridge, to hold both to the same behaviour). ``tls``: mTLS everywhere, as
    `make run TLS=1` and compose run it."""
    cfg = StackConfig(
        root=root,
        ports=Ports.ephemeral(),
        memory=True,
        extra_env=dict(extra_env),
        edge=edge,
        tls=tls,
    )
    children, env = plan(cfg)
    started: list[Child] = []
    try:
        await start_in_waves(children, Path.cwd(), 60, started)
        yield RunningStack(cfg.ports, env, {c.name: c for c in children}, root)
    finally:
        # Side by side: each stop may wait for its process's graceful shutdown.
        await asyncio.gather(*(asyncio.to_thread(child.stop) for child in reversed(started)))
