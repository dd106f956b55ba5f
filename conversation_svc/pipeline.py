"""What the worker does with one message: analyse → route by intent → images → terminal state.

Safe to run twice for the same message (a crashed worker's task is delivered again): the
analysis is reused when stored, only views not yet stored are generated, each image is appended
under a unique key, and every state change is guarded by ``status: PROCESSING``. Transient
upstream errors (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) are retried with backoff a
bounded number of times; anything else ends the message FAILED with a readable reason.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import grpc

from conversation_svc import edit_plan
from conversation_svc.model import (
    Analysis,
    Failure,
    Message,
    MessageImage,
    Status,
    Subject,
    ViewFailure,
)
from conversation_svc.store import Store, now
from mesh.errors import ServiceError
from mesh.logs import bind_context, get_logger
from mesh.media import MediaClient
from mesh.retry import Backoff
from mesh.vocabulary import Intent, angle_name, angle_value
from photofun.v1 import common_pb2, image_service_pb2, prompt_service_pb2
from photofun.v1 import image_service_pb2_grpc as image_grpc
from photofun.v1 import prompt_service_pb2_grpc as prompt_grpc

log = get_logger(__name__)
T = TypeVar("T")
Metadata = Sequence[tuple[str, str]]
TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
DEFAULT_ANGLES = ("front", "side", "rear")
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


class Stop(Exception):
    """The message is no longer PROCESSING (cancelled or settled elsewhere): stop quietly."""


class Failed(Exception):
    """End the message FAILED with this reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Limits:
    """Deadlines and retry policy of upstream calls."""

    prompt_timeout: float = 30.0
    image_timeout: float = 180.0
    retry: Backoff = field(default_factory=lambda: Backoff(attempts=3, first=0.5, jitter=0.2))


class Pipeline:
    """Runs messages; one instance per worker process (its channels live on one event loop)."""

    def __init__(
        self,
        store: Store,
        prompt: prompt_grpc.PromptServiceAsyncStub,
        image: image_grpc.ImageServiceAsyncStub,
        media: MediaClient,
        limits: Limits = Limits(),
    ) -> None:
        self._store = store
        self._prompt = prompt
        self._image = image
        self._media = media
        self._limits = limits

    async def run(self, message_id: str) -> None:
        """Take one message to a terminal state (or leave it if it already is in one)."""
        message = await self._store.message_by_id(message_id)
        if message is None or message.terminal:
            log.info("nothing to do", message_id=message_id, status=message and message.status)
            return
        bind_context(message_id=message_id, request_id=message.request_id)
        deadline = message.deadline or now()
        remaining = (deadline.replace(tzinfo=dt.UTC) - now()).total_seconds()
        try:
            async with asyncio.timeout(max(remaining, 0.001)):
                await self._run(message)
        except Stop:
            log.info("stopped: the message is no longer processing")
        except Failed as exc:
            log.warning("message failed", reason=exc.reason)
            await self._store.finish(
                message.id, Status.FAILED, failure=Failure(exc.reason, exc.message)
            )
        except TimeoutError:
            await self._store.finish(
                message.id,
                Status.FAILED,
                failure=Failure("TIMED_OUT", "the work did not finish before its deadline"),
            )

    async def _run(self, message: Message) -> None:
        metadata = (("x-request-id", message.request_id),)
        if message.intent is None:
            message = await self._analyse(message, metadata)
        intent = message.intent
        if intent is Intent.CHAT:
            await self._done(message)
        elif intent is Intent.GENERATE_ANGLES:
            await self._angles(message, metadata)
        elif intent is not None and intent.needs_image:
            await self._edit(message, metadata)
        else:
            await self._single(message, metadata)

    async def _analyse(self, message: Message, metadata: Metadata) -> Message:
        request = prompt_service_pb2.RefineRequest(
            prompt=message.prompt,
            style=message.style,
            lang=message.lang,
            topic=message.topic,
            image_url=message.input_image_url,
        )
        reply = await self._call(
            "PROMPT_SERVICE",
            lambda: self._prompt.Refine(
                request, timeout=self._limits.prompt_timeout, metadata=metadata
            ),
        )
        intent = Intent.from_proto(reply.intent) or Intent.GENERATE_IMAGE
        angles = tuple(name for name in map(angle_name, reply.angles) if name)
        if intent is Intent.GENERATE_ANGLES and not angles:
            angles = DEFAULT_ANGLES
        expected = {Intent.CHAT: 0, Intent.GENERATE_ANGLES: len(angles)}.get(intent, 1)
        subject = reply.subject
        updated = await self._store.record_analysis(
            message.id,
            intent=intent,
            refined_prompt=reply.refined_prompt,
            keywords=reply.keywords,
            reply=reply.reply,
            expected_image_count=expected,
            analysis=Analysis(
                angles=angles,
                lang=reply.lang,
                provider=reply.metadata.provider,
                fallback_used=reply.metadata.fallback_used,
                subject=Subject(
                    text=subject.text,
                    category=subject.category,
                    brand=subject.brand,
                    model=subject.model,
                    year=subject.year,
                    color=subject.color,
                    body_type=subject.body_type,
                ),
            ),
        )
        if updated is None:
            raise Stop
        log.info("analysed", intent=intent.value, provider=reply.metadata.provider)
        return updated

    async def _single(self, message: Message, metadata: Metadata) -> None:
        if not message.has_image("single"):
            request = image_service_pb2.GenerateRequest(
                prompt=message.refined_prompt or message.prompt,
                style=message.style,
                format=edit_plan.image_format(message),
                subject=_subject(message),
                request_id=message.request_id,
            )
            reply = await self._call(
                "IMAGE_SERVICE",
                lambda: self._image.Generate(
                    request, timeout=self._limits.image_timeout, metadata=metadata
                ),
            )
            await self._store_image(
                message, "single", reply.image, provider=reply.metadata.provider
            )
        await self._done(message)

    async def _edit(self, message: Message, metadata: Metadata) -> None:
        if not message.has_image("edit"):
            request = edit_plan.request_for(message)
            reply = await self._call(
                "IMAGE_SERVICE",
                lambda: self._image.EditImage(
                    request, timeout=self._limits.image_timeout, metadata=metadata
                ),
            )
            await self._store_image(message, "edit", reply.image, provider=reply.metadata.provider)
        await self._done(message)

    async def _angles(self, message: Message, metadata: Metadata) -> None:
        wanted = (message.analysis.angles if message.analysis else ()) or DEFAULT_ANGLES
        stored = {image.key for image in message.images}
        failed = list(message.failed_views)
        failures: dict[str, str] = {}
        for attempt in range(1, self._limits.retry.attempts + 1):
            missing = [a for a in wanted if a not in stored and a not in failures]
            if not missing:
                break
            request = image_service_pb2.GenerateAnglesRequest(
                subject=_subject(message),
                angles=[angle_value(a) for a in missing],
                prompt=message.refined_prompt,
                style=message.style,
                format=edit_plan.image_format(message),
                request_id=message.request_id,
            )
            call = self._image.GenerateAngles(
                request, timeout=self._limits.image_timeout, metadata=metadata
            )
            try:
                async for view in call:
                    name = angle_name(view.angle)
                    if view.HasField("error"):
                        failures[name] = f"{view.error.reason}: {view.error.message}"
                        failed = [v for v in failed if v.angle != name]
                        failed.append(ViewFailure(name, view.error.reason, view.error.message))
                        # Shown on the message at once: watchers get an UPDATED event.
                        if await self._store.record_failed_views(message.id, failed) is None:
                            raise Stop
                        continue
                    await self._store_image(
                        message,
                        name,
                        view.image,
                        angle=name,
                        session_id=view.session_id,
                        is_main=name == wanted[0],
                        provider=view.metadata.provider,
                    )
                    stored.add(name)
            except grpc.aio.AioRpcError as exc:
                call.cancel()
                if exc.code() not in TRANSIENT or self._limits.retry.exhausted(attempt):
                    raise _upstream_failure("IMAGE_SERVICE", exc) from exc
                log.warning("angle stream broke; retrying the missing views", code=exc.code().name)
                await asyncio.sleep(self._limits.retry.delay(attempt))
            except Stop:
                call.cancel()
                raise
        if not any(a in stored for a in wanted):
            detail = "; ".join(f"{k}: {v}" for k, v in failures.items()) or "no view arrived"
            raise Failed("NO_IMAGES", f"none of the views could be generated ({detail})")
        note = ""
        if failures:
            note = "Some views could not be generated: " + ", ".join(sorted(failures)) + "."
        await self._done(message, note)

    async def _store_image(
        self,
        message: Message,
        key: str,
        image: common_pb2.Image,
        *,
        angle: str = "",
        session_id: str = "",
        is_main: bool = False,
        provider: str = "",
    ) -> None:
        ext = EXTENSIONS.get(image.mime_type, "bin")
        try:
            url = await self._media.upload(
                image.data,
                filename=f"{message.request_id}-{key}.{ext}",
                mime_type=image.mime_type,
            )
        except ServiceError as exc:
            raise Failed(exc.reason, f"could not store the image: {exc.message}") from exc
        appended = await self._store.append_image(
            message.id,
            MessageImage(
                key=key,
                image_url=url,
                angle=angle,
                seed=image.seed,
                session_id=session_id,
                mime_type=image.mime_type,
                size_bytes=len(image.data),
                width=image.width,
                height=image.height,
                is_main=is_main,
                provider=provider,
            ),
        )
        if not appended:
            current = await self._store.message_by_id(message.id)
            if current is None or current.terminal:
                raise Stop
            # Already stored by an earlier delivery of this task: nothing to add.

    async def _done(self, message: Message, note: str = "") -> None:
        reply = " ".join(p for p in (message.reply, note) if p) if note else None
        if await self._store.finish(message.id, Status.DONE, reply=reply) is None:
            raise Stop
        log.info("message done")

    async def _call(self, upstream: str, make: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, self._limits.retry.attempts + 1):
            try:
                return await make()
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in TRANSIENT or self._limits.retry.exhausted(attempt):
                    raise _upstream_failure(upstream, exc) from exc
                log.warning("transient upstream error", upstream=upstream, code=exc.code().name)
                await asyncio.sleep(self._limits.retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def _subject(message: Message) -> common_pb2.Subject:
    s = message.analysis.subject if message.analysis else Subject()
    return common_pb2.Subject(
        text=s.text,
        category=s.category,
        brand=s.brand,
        model=s.model,
        year=s.year,
        color=s.color,
        body_type=s.body_type,
    )


def _upstream_failure(upstream: str, exc: grpc.aio.AioRpcError) -> Failed:
    code = exc.code()
    if code in TRANSIENT:
        return Failed(
            f"{upstream}_UNAVAILABLE",
            f"the {upstream.lower().replace('_', ' ')} did not answer after retries ({code.name})",
        )
    return Failed(
        f"{upstream}_{code.name}",
        f"the {upstream.lower().replace('_', ' ')} refused: {exc.details() or code.name}",
    )
