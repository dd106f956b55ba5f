"""Where CPU-bound Pillow work runs: a pool of processes (default) or threads.

Drawing a 1024×1024 view takes tens of milliseconds of pure CPU; on the event loop it would stall
every other stream, and in threads it mostly serialises on the GIL. Processes are started with
``spawn`` because forking a process that already runs gRPC is unsafe.

Each worker first tells the C allocator to keep the memory it frees (``keep_freed_memory``): a
view allocates and frees a few buffers of megabytes (canvas, car box at 2x, PNG rows), which
glibc by default hands back to the kernel at every free, so the next view paid ~2,000 page
faults to touch them again (about half the CPU of a PNG encode; docs/image-service.md).
Workers also run ``RENDER_NICENESS`` lower than the service: on a busy machine, the kernel then
serves the calls people wait for before the drawing, which has the model's latency as slack.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
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


# glibc's mallopt(3) parameters and the values the workers use.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 << 20  # glibc's ceiling: blocks up to 32 MiB come from the heap
_TRIM_THRESHOLD = 128 << 20  # free memory kept at the heap's top before giving it back


def keep_freed_memory() -> bool:
    """Make this process's C allocator reuse freed blocks of up to 32 MiB instead of returning
    them to the kernel (up to 128 MiB kept free); False where the C library has no ``mallopt``
    (musl, macOS), which changes only the speed.

    glibc serves blocks above a threshold with their own mmap and trims the heap's top above
    another; it raises both as big blocks are freed, but only to twice the largest, so buffers
    of a few MiB kept going back and forth. Fixed values also switch that adjustment off. A
    worker's memory then stays at the high-water mark of its largest views.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )


# How much lower than the service the render workers run: a view has its model's whole latency
# to be drawn in, while the calls around it (database, gRPC) are what people wait for.
RENDER_NICENESS = 5


def _start_worker() -> None:
    """A render worker: behind the latency-bound processes for the CPU, memory kept."""
    with contextlib.suppress(OSError):  # not allowed here: the service's priority, then
        os.nice(RENDER_NICENESS)
    keep_freed_memory()


class RenderPool:
    """Runs functions off the event loop, in processes or threads."""

    def __init__(self, mode: PoolMode = "process", workers: int = 0) -> None:
        count = workers or cores()
        self.mode = mode
        self._executor: Executor = (
            ProcessPoolExecutor(
                count,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
            )
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
