"""The interface every image provider implements, and the errors it may raise.

ProviderError                 any failure of one provider for one job (the chain moves on)
├── ProviderUnavailable       connection refused, timeout, 5xx          (retryable)
├── ProviderRateLimited       429 / quota; ``retry_after`` when given     (retryable)
└── ProviderRejected          4xx, safety block, malformed answer        (not retryable)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from image_svc.subject import SubjectSpec


@dataclass(frozen=True)
class ImageJob:
    """One image to produce: real providers use prompt, seed and size; the mock draws the view."""

    prompt: str  # full English prompt, consistency hints included
    seed: int  # 0 .. 2**32-1
    width: int
    height: int
    fmt: str = "png"  # preferred output ("png", "jpeg", "webp"); others are converted after
    style: str = ""
    # The structured subject, for the mock renderer (empty fields mean unknown).
    subject: SubjectSpec = field(default_factory=SubjectSpec)
    # The view, for the mock renderer: azimuth from the subject's front towards its left side.
    azimuth: float = 0.0
    elevation: float = 5.0
    session_id: str = ""
    # Which take of the session (0 the first): the mock renderer varies the studio by it.
    take: int = 0
    # Consistency mode: the main view's image, for providers that take a reference image.
    reference: bytes | None = field(default=None, repr=False)
    reference_mime: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """What one model of a provider can do: a row of that provider's capability table.

    Each adapter keeps its own table (``MODELS``) of the models it was checked against, with
    the provider's documentation cited in docs/image-service.md; a model missing from the
    table is refused at start-up instead of failing every job later.
    """

    name: str
    reference: bool  # takes ImageJob.reference (consistency mode)
    seed_reproducible: bool  # the same prompt, seed and size give the same image again
    formats: frozenset[str]  # output formats it can be asked for ("png", "jpeg", "webp")


Spec = TypeVar("Spec", bound=ModelSpec)


def model_spec(provider: str, table: Mapping[str, Spec], model: str) -> Spec:
    """The row of ``table`` for ``model``, or a ValueError naming the models there are."""
    try:
        return table[model]
    except KeyError:
        known = ", ".join(sorted(table))
        raise ValueError(
            f"{provider}: model {model!r} is not in the capability table (known: {known})"
        ) from None


@dataclass(frozen=True)
class ProviderImage:
    """What a provider returns: encoded bytes in whatever format it produces."""

    data: bytes = field(repr=False)
    mime_type: str
    width: int
    height: int
    model: str


class ProviderError(Exception):
    """A provider could not produce this image; ``reason`` is UPPER_SNAKE_CASE."""

    retryable = False

    def __init__(self, provider: str, reason: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.reason = reason
        self.message = message


class ProviderUnavailable(ProviderError):
    """The provider is down, slow or answered 5xx."""

    retryable = True


class ProviderRateLimited(ProviderError):
    """The provider refused for quota; ``retry_after`` seconds if it said so."""

    retryable = True

    def __init__(
        self, provider: str, reason: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(provider, reason, message)
        self.retry_after = retry_after


class ProviderRejected(ProviderError):
    """The provider refused this prompt or answered something unusable."""


class Provider(Protocol):
    """An image generator. Implementations must not log or echo their API keys."""

    name: str  # "mock", "gemini", "pollinations", "openai"
    model: str  # model identifier reported in metadata
    supports_reference: bool  # takes ImageJob.reference for consistency mode
    seed_reproducible: bool  # the same job gives the same image again with this model

    async def generate(self, job: ImageJob, *, timeout: float) -> ProviderImage:
        """Produce one image within ``timeout`` seconds or raise ProviderError."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
