"""Render pool workers keep the memory they free, so a view does not fault its buffers back in,
and run behind the service for the CPU."""

from __future__ import annotations

import asyncio
import os
import resource

from image_svc.encoding import encode
from image_svc.render import RenderPool, RenderSubject, render
from image_svc.render.pool import RENDER_NICENESS

CLIO = RenderSubject(brand="Renault", model="Clio", year=2019, color="blue", body_type="hatchback")


def page_faults_per_view() -> float:
    """In this process: page faults of a 1024x1024 view drawn and encoded, after a first one."""

    def view() -> None:
        image = render(
            CLIO, azimuth=45.0, elevation=5.0, session_id="pool", seed=1, width=1024, height=1024
        )
        encode(image, "png")

    view()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        view()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 3


async def test_a_worker_reuses_the_memory_of_its_last_view() -> None:
    pool = RenderPool("process", workers=1)
    try:
        faults = await pool.run(page_faults_per_view)
    finally:
        pool.close()
    # glibc's defaults hand the view's buffers of a few MiB back to the kernel at every free:
    # ~2,000 faults a view to touch them again. Kept, a view touches no new memory at all.
    assert faults < 300


def test_render_workers_run_behind_the_service_for_the_cpu() -> None:
    pool = RenderPool("process", workers=1)
    try:
        own = os.getpriority(os.PRIO_PROCESS, 0)
        worker = asyncio.run(pool.run(_priority))
    finally:
        pool.close()
    assert worker == min(own + RENDER_NICENESS, 19)


def _priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)
