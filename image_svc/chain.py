"""The provider fallback chain: each configured provider in order, the mock always last."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image

from image_svc.encoding import MIME_TYPES, encode
from image_svc.limits import ProviderLimits
from image_svc.providers.base import ImageJob, Provider, ProviderError
from mesh.circuit import CircuitBreaker, CircuitOpen
from mesh.errors import Unavailable
from mesh.logs import get_logger
from mesh.metrics import ENCODE_SECONDS, UPSTREAM_CALLS, watch_breaker

log = get_logger(__name__)


@dataclass(frozen=True)
class Produced:
    """An image in the requested format, and who made it."""

    data: bytes
    mime_type: str
    width: int
    height: int
    seed: int
    model: str
    provider: str
    fallbacks: tuple[str, ...]
    seconds: float
    # The same prompt, seed and size give this image again with the provider that drew it.
    seed_reproducible: bool = False


class ProviderChain:
    """Tries providers in order until one answers; records why the others were skipped."""

    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        timeout: float = 60.0,
        breaker: Callable[[], CircuitBreaker] = CircuitBreaker,
        limits: ProviderLimits | None = None,
    ) -> None:
        if not providers:
            raise ValueError("at least one provider is required")
        self.providers = list(providers)
        self._timeout = timeout
        # Each provider's places and waiting line (image_svc/limits.py); a full line raises
        # ResourceExhausted with a retry hint, which the servicer sends as it is.
        self._limits = limits or ProviderLimits()
        # One breaker per provider except the last (the local mock, which must always be tried):
        # a dead cloud is skipped at once instead of costing its timeout on every view.
        self._breakers = {p.name: breaker() for p in self.providers[:-1]}
        for name, watched in self._breakers.items():
            watch_breaker(name, watched)

    @property
    def supports_reference(self) -> bool:
        """True when the first provider takes a reference image (consistency mode)."""
        return self.providers[0].supports_reference

    async def produce(self, job: ImageJob) -> Produced:
        """One image from the first provider that succeeds, converted to ``job.fmt``."""
        started = time.perf_counter()
        skipped: list[str] = []
        for provider in self.providers:
            breaker = self._breakers.get(provider.name)
            try:
                if breaker is not None:
                    breaker.before_call()
                async with self._limits.of(provider.name).place():
                    image = await provider.generate(job, timeout=self._timeout)
            except CircuitOpen:
                skipped.append(f"{provider.name}: CIRCUIT_OPEN")
                UPSTREAM_CALLS.labels(provider.name, "CIRCUIT_OPEN").inc()
                continue
            except ProviderError as exc:
                UPSTREAM_CALLS.labels(provider.name, exc.reason).inc()
                log.warning("provider failed", provider=provider.name, reason=exc.reason)
                skipped.append(f"{provider.name}: {exc.reason}")
                if breaker is not None:
                    # A refusal of this prompt says the provider is up; outages count.
                    (breaker.record_failure if exc.retryable else breaker.record_success)()
                continue
            except asyncio.CancelledError:
                if breaker is not None:
                    breaker.record_cancelled()
                raise
            if breaker is not None:
                breaker.record_success()
            UPSTREAM_CALLS.labels(provider.name, "OK").inc()
            data, width, height = image.data, image.width, image.height
            mime = MIME_TYPES[job.fmt]
            if image.mime_type != mime:
                data, width, height = _convert(data, job.fmt)
            return Produced(
                data=data,
                mime_type=mime,
                width=width,
                height=height,
                seed=job.seed,
                model=image.model,
                provider=provider.name,
                fallbacks=tuple(skipped),
                seconds=time.perf_counter() - started,
                seed_reproducible=provider.seed_reproducible,
            )
        raise Unavailable(
            "no image provider could answer: " + "; ".join(skipped), reason="PROVIDERS_EXHAUSTED"
        )

    async def aclose(self) -> None:
        """Close every provider."""
        for provider in self.providers:
            await provider.aclose()


def _convert(data: bytes, fmt: str) -> tuple[bytes, int, int]:
    """A provider's image in the requested format; the encoding is timed as the mock's is
    (``photofun_encode_seconds``), so a cloud deployment shows its encode time too."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        with ENCODE_SECONDS.labels(fmt).time():
            encoded = encode(image, fmt)
        return encoded, image.width, image.height
