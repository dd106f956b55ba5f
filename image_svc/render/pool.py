"""Where CPU-bound Pillow work runs: a pool of processes (default) or threads.

Drawing a 1024×1024 view takes tens of milliseconds of pure CPU; on the event loop it would stall
every other stream, and in threads it mostly serialises on the GIL. Processes are started with
``spawn`` because forking a process that already runs gRPC is unsafe.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Literal, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
PoolMode = Literal["process", "thread"]


def cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class RenderPool:
    """Runs functions off the event loop, in processes or threads."""

    def __init__(self, mode: PoolMode = "process", workers: int = 0) -> None:
        count = workers or cores()
        self.mode = mode
        self._executor: Executor = (
            ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"))
            if mode == "process"
            else ThreadPoolExecutor(count, thread_name_prefix="render")
        )
        self.workers = count

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` in the pool; cancelling the await drops it if not yet started."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def warm_up(self, fn: Callable[[], object] = os.getpid) -> None:
        """Start every worker now and run ``fn`` in each (e.g. a tiny render that loads the
        encoders), so the first request does not pay for start-up."""
        await asyncio.gather(*(self.run(fn) for _ in range(self.workers)))

    def close(self) -> None:
        """Stop the workers; queued work is cancelled."""
        self._executor.shutdown(wait=True, cancel_futures=True)
