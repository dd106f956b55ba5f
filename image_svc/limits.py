"""How many images each provider makes at once, and how many may wait for it.

A real model's rate limit is the scarce resource of the whole system, so each provider gets
``concurrency`` places (``IMAGE_SVC_PROVIDER_CONCURRENCY``); jobs beyond them queue in arrival
order, up to ``queue`` per provider (``IMAGE_SVC_PROVIDER_QUEUE``). A job that finds the queue
full is refused at once with RESOURCE_EXHAUSTED ``PROVIDER_BUSY`` and a ``google.rpc.RetryInfo``
saying when a place is likely free (the queue ahead divided by the places, times the recent
time per image), which the worker honours before it asks again. A busy provider is healthy:
its jobs are not handed to the next provider of the chain.

Hand-written: an ``asyncio.Semaphore`` plus a counter. The limiter libraries on PyPI
(aiolimiter, asyncio-throttle) limit a *rate* and have no bounded queue or wait estimate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping

from mesh.errors import ResourceExhausted

# Places per provider when IMAGE_SVC_PROVIDER_CONCURRENCY does not name it: the clouds' usual
# per-key concurrency, and for the local mock enough to keep the render pool busy.
DEFAULT_CONCURRENCY = {"gemini": 8, "openai": 4, "pollinations": 4, "mock": 64}
FALLBACK_CONCURRENCY = 4


def parse_concurrency(text: str) -> dict[str, int]:
    """``"gemini=4, mock=32"`` → ``{"gemini": 4, "mock": 32}``; ValueError when malformed."""
    out: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(
                f"IMAGE_SVC_PROVIDER_CONCURRENCY: expected name=N (N ≥ 1), got {item!r}"
            )
        out[name.strip().lower()] = int(value)
    return out


class ProviderLimit:
    """The places and the waiting line of one provider (one event loop)."""

    def __init__(self, name: str, concurrency: int, queue: int) -> None:
        self.name = name
        self.concurrency = concurrency
        self.queue = queue
        self.waiting = 0
        self._places = asyncio.Semaphore(concurrency)
        self._seconds = 1.0  # recent time per image (moving average)

    def retry_after(self) -> float:
        """Seconds until a place is likely free for a newcomer."""
        ahead = self.waiting / self.concurrency
        return round(min(30.0, max(0.5, ahead * self._seconds)), 1)

    @contextlib.asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        """Wait for a place (``PROVIDER_BUSY`` at once when the line is full) and hold it."""
        if self._places.locked() and self.waiting >= self.queue:
            raise ResourceExhausted(
                f"the {self.name} image provider is busy ({self.waiting} images waiting); "
                "try again shortly",
                reason="PROVIDER_BUSY",
                retry_after=self.retry_after(),
            )
        self.waiting += 1
        try:
            await self._places.acquire()
        finally:
            self.waiting -= 1
        started = time.monotonic()
        try:
            yield
        finally:
            self._places.release()
            self._seconds = 0.8 * self._seconds + 0.2 * (time.monotonic() - started)


class ProviderLimits:
    """One ``ProviderLimit`` per provider name, made on first use."""

    def __init__(self, concurrency: Mapping[str, int] | None = None, queue: int = 256) -> None:
        self._concurrency = {**DEFAULT_CONCURRENCY, **(concurrency or {})}
        self._queue = queue
        self._limits: dict[str, ProviderLimit] = {}

    def of(self, provider: str) -> ProviderLimit:
        """The limit of ``provider``."""
        if provider not in self._limits:
            places = self._concurrency.get(provider, FALLBACK_CONCURRENCY)
            self._limits[provider] = ProviderLimit(provider, places, self._queue)
        return self._limits[provider]
