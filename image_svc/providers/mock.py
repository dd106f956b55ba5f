"""The default generator: the procedural renderer, with an optional artificial latency.

The latency models a remote model's server-side time: an image is ready after
``max(latency, render time)``, because the wait and the drawing overlap, as they would if a
provider rendered on its own machines. This lets benchmarks show parallelism honestly. A jitter
spreads the latency per image (fixed by the seed, so the same job always waits as long), as a
real model's varies: the views of a set then arrive one by one, as people watching should see.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time

from image_svc.encoding import MIME_TYPES, encode
from image_svc.providers.base import ImageJob, ProviderImage
from image_svc.render import RenderPool, RenderSubject, render
from mesh.metrics import ENCODE_SECONDS, RENDER_SECONDS

MODEL = "MockGenerator v1"


def render_encoded(job: ImageJob) -> bytes:
    """Draw and encode one job (runs in a pool worker, so it must be a top-level function)."""
    return render_encoded_timed(job)[0]


def render_encoded_timed(job: ImageJob) -> tuple[bytes, float, float]:
    """``render_encoded`` with the seconds drawing and encoding took (measured in the pool
    worker, reported by the server process: mesh.metrics)."""
    started = time.perf_counter()
    fields = dataclasses.asdict(job.subject)
    subject = RenderSubject(**{**fields, "text": job.subject.text or job.prompt})
    image = render(
        subject,
        azimuth=job.azimuth,
        elevation=job.elevation,
        session_id=job.session_id,
        seed=job.seed,
        take=job.take,
        width=job.width,
        height=job.height,
        style=job.style,
    )
    drawn = time.perf_counter()
    data = encode(image, job.fmt)
    return data, drawn - started, time.perf_counter() - drawn


def warm() -> None:
    """Render and encode a tiny image in every format (loads fonts and codecs once)."""
    for fmt in MIME_TYPES:
        render_encoded(ImageJob(prompt="warm-up", seed=0, width=64, height=64, fmt=fmt))


def paced(seed: int, latency: float, jitter: float) -> float:
    """Seconds an image waits: ``latency`` spread by ±``jitter`` according to its seed."""
    return latency * (1.0 + jitter * random.Random(seed).uniform(-1.0, 1.0))


class MockProvider:
    """Draws the subject locally; same job → identical bytes."""

    name = "mock"
    model = MODEL
    supports_reference = False
    seed_reproducible = True  # a seeded procedure: same job, same bytes

    def __init__(self, pool: RenderPool, latency: float = 0.0, jitter: float = 0.0) -> None:
        self._pool = pool
        self._latency = latency
        self._jitter = jitter

    async def generate(self, job: ImageJob, *, timeout: float) -> ProviderImage:
        """Render ``job`` in the pool while the artificial latency runs."""
        del timeout  # local and bounded; the caller's deadline still cancels the await
        work = dataclasses.replace(job, reference=None)  # never ship the reference to a worker
        drawing = self._pool.run(render_encoded_timed, work)
        (data, render_s, encode_s), _ = await asyncio.gather(
            drawing, asyncio.sleep(paced(job.seed, self._latency, self._jitter))
        )
        RENDER_SECONDS.observe(render_s)
        ENCODE_SECONDS.labels(job.fmt).observe(encode_s)
        return ProviderImage(data, MIME_TYPES[job.fmt], job.width, job.height, MODEL)

    async def aclose(self) -> None:
        """Nothing to release: the pool belongs to the composition root."""
