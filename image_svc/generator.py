"""The image service's domain: one image, or a consistent set of views generated in parallel.

``angles()`` yields each view the moment it is ready (completion order) under a concurrency
limit; a failed view is reported as such and the others go on; when the consumer stops (client
cancelled or went away) every outstanding view is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from image_svc.angles import STRAIGHT_ON, View
from image_svc.brands import BrandKnowledge
from image_svc.chain import Produced, ProviderChain
from image_svc.consistency import SubjectSpec, angle_prompt, seed_for, session_id_for
from image_svc.providers.base import ImageJob
from mesh.errors import ResourceExhausted, ServiceError
from mesh.logs import get_logger
from mesh.tracing import fail_span, span

log = get_logger(__name__)


@dataclass(frozen=True)
class Canvas:
    """Output size and encoding."""

    width: int
    height: int
    fmt: str


@dataclass(frozen=True)
class AngleOutcome:
    """One view of a set: its image, or why it failed."""

    view: View
    index: int
    total: int
    session_id: str
    seed: int
    prompt: str
    is_main: bool
    image: Produced | None = None
    failure_reason: str = ""
    failure_message: str = ""


def _job(
    subject: SubjectSpec,
    view: View,
    canvas: Canvas,
    *,
    prompt: str,
    seed: int,
    session_id: str,
    style: str,
    reference: Produced | None = None,
    take: int = 0,
) -> ImageJob:
    return ImageJob(
        prompt=prompt,
        seed=seed,
        width=canvas.width,
        height=canvas.height,
        fmt=canvas.fmt,
        style=style,
        subject=subject,
        azimuth=view.azimuth,
        elevation=view.elevation,
        session_id=session_id,
        take=take,
        reference=reference.data if reference else None,
        reference_mime=reference.mime_type if reference else "",
    )


class ImageGenerator:
    """Plans prompts and seeds, and runs the provider chain with bounded parallelism."""

    def __init__(
        self, chain: ProviderChain, brands: BrandKnowledge, *, max_concurrency: int = 8
    ) -> None:
        self._chain = chain
        self._brands = brands
        self._limit = max_concurrency

    async def single(
        self,
        prompt: str,
        canvas: Canvas,
        *,
        seed: int,
        style: str,
        subject: SubjectSpec,
        take: int = 0,
    ) -> Produced:
        """One image of ``prompt``; a structured vehicle subject is drawn as that vehicle."""
        session_id = session_id_for(subject) if subject.is_vehicle else ""
        job = _job(
            subject if subject.text or subject.is_vehicle else SubjectSpec(text=prompt),
            STRAIGHT_ON,
            canvas,
            prompt=prompt,
            seed=seed,
            session_id=session_id,
            style=style,
            take=take,
        )
        with span("view", angle="single") as current:
            produced = await self._chain.produce(job)
            current.set_attribute("provider", produced.provider)
            return produced

    async def angles(
        self,
        subject: SubjectSpec,
        views: Sequence[View],
        canvas: Canvas,
        *,
        extra_prompt: str = "",
        style: str = "",
        session_id: str = "",
        base_seed: int | None = None,
        reference_mode: bool = False,
        take: int = 0,
    ) -> AsyncIterator[AngleOutcome]:
        """Yield every view as soon as it is ready; the first view is the main one."""
        session = session_id or session_id_for(subject)
        logo = await self._brands.logo(subject.brand) if subject.is_vehicle else ""
        plans = []
        for index, view in enumerate(views):
            seed = seed_for(session, view.name, base_seed, take)
            prompt = angle_prompt(
                subject,
                view,
                session_id=session,
                seed=seed,
                logo=logo,
                extra=extra_prompt,
                style=style,
            )
            plans.append(
                AngleOutcome(view, index, len(views), session, seed, prompt, is_main=index == 0)
            )
        semaphore = asyncio.Semaphore(self._limit)

        async def run(plan: AngleOutcome, reference: Produced | None = None) -> AngleOutcome:
            job = _job(
                subject,
                plan.view,
                canvas,
                prompt=plan.prompt,
                seed=plan.seed,
                session_id=session,
                style=style,
                reference=reference,
                take=take,
            )
            async with semaphore:
                with span("view", angle=plan.view.name) as current:
                    try:
                        image = await self._chain.produce(job)
                    except ResourceExhausted:
                        raise  # the provider's line is full: the whole call is refused, with a hint
                    except ServiceError as exc:
                        log.warning("view failed", angle=plan.view.name, reason=exc.reason)
                        fail_span(exc.reason, exc.message)
                        return _failed(plan, exc.reason, exc.message)
                    except Exception:
                        log.exception("view crashed", angle=plan.view.name)
                        fail_span("INTERNAL", "this view could not be generated")
                        return _failed(plan, "INTERNAL", "this view could not be generated")
                    current.set_attribute("provider", image.provider)
            return dataclasses.replace(plan, image=image)

        reference: Produced | None = None
        pending = plans
        if reference_mode and self._chain.supports_reference and len(plans) > 1:
            main = await run(plans[0])
            yield main
            reference, pending = main.image, plans[1:]
        tasks = [asyncio.create_task(run(plan, reference)) for plan in pending]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)


def _failed(plan: AngleOutcome, reason: str, message: str) -> AngleOutcome:
    return AngleOutcome(**{**plan.__dict__, "failure_reason": reason, "failure_message": message})
