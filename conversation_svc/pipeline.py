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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from conversation_svc import edit_plan
from conversation_svc.convert import INTENT_FROM_PROTO, angle_name, angle_value
from conversation_svc.store import DONE, FAILED, PROCESSING, Doc, Store, now
from mesh.errors import ServiceError
from mesh.logs import bind_context, get_logger
from mesh.media import MediaClient
from photofun.v1 import common_pb2, image_service_pb2, prompt_service_pb2
from photofun.v1 import image_service_pb2_grpc as image_grpc
from photofun.v1 import prompt_service_pb2_grpc as prompt_grpc

log = get_logger(__name__)
T = TypeVar("T")
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
    attempts: int = 3
    backoff: float = 0.5


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
        doc = await self._store.message_by_id(message_id)
        if doc is None or doc["status"] != PROCESSING:
            log.info("nothing to do", message_id=message_id, status=doc and doc["status"])
            return
        bind_context(message_id=message_id, request_id=doc["request_id"])
        remaining = (doc["deadline"].replace(tzinfo=dt.UTC) - now()).total_seconds()
        try:
            async with asyncio.timeout(max(remaining, 0.001)):
                await self._run(doc)
        except Stop:
            log.info("stopped: the message is no longer processing")
        except Failed as exc:
            log.warning("message failed", reason=exc.reason)
            await self._store.finish(doc["_id"], FAILED, failure=_failure(exc.reason, exc.message))
        except TimeoutError:
            await self._store.finish(
                doc["_id"],
                FAILED,
                failure=_failure("TIMED_OUT", "the work did not finish before its deadline"),
            )

    async def _run(self, doc: Doc) -> None:
        metadata = (("x-request-id", doc["request_id"]),)
        if not doc.get("intent"):
            doc = await self._analyse(doc, metadata)
        intent = doc["intent"]
        if intent == "chat":
            await self._done(doc)
        elif intent == "generateAngles":
            await self._angles(doc, metadata)
        elif intent in ("styleTransfer", "editBackground", "enhanceImage"):
            await self._edit(doc, metadata)
        else:
            await self._single(doc, metadata)

    async def _analyse(self, doc: Doc, metadata: Any) -> Doc:
        request = prompt_service_pb2.RefineRequest(
            prompt=doc["prompt"],
            style=doc.get("style", ""),
            lang=doc.get("lang", ""),
            topic=doc.get("topic", ""),
            image_url=doc.get("input_image_url", ""),
        )
        reply = await self._call(
            "PROMPT_SERVICE",
            lambda: self._prompt.Refine(
                request, timeout=self._limits.prompt_timeout, metadata=metadata
            ),
        )
        intent = INTENT_FROM_PROTO.get(reply.intent, "generateImage")
        angles = [angle_name(a) for a in reply.angles if angle_name(a)]
        if intent == "generateAngles" and not angles:
            angles = list(DEFAULT_ANGLES)
        expected = {"chat": 0, "generateAngles": len(angles)}.get(intent, 1)
        subject = reply.subject
        updated = await self._store.update_processing(
            doc["_id"],
            {
                "intent": intent,
                "refined_prompt": reply.refined_prompt,
                "keywords": list(reply.keywords),
                "reply": reply.reply,
                "expected_image_count": expected,
                "analysis": {
                    "angles": angles,
                    "lang": reply.lang,
                    "provider": reply.metadata.provider,
                    "fallback_used": reply.metadata.fallback_used,
                    "subject": {
                        "text": subject.text,
                        "category": subject.category,
                        "brand": subject.brand,
                        "model": subject.model,
                        "year": subject.year,
                        "color": subject.color,
                        "body_type": subject.body_type,
                    },
                },
            },
        )
        if updated is None:
            raise Stop
        log.info("analysed", intent=intent, provider=reply.metadata.provider)
        return updated

    async def _single(self, doc: Doc, metadata: Any) -> None:
        if not _has(doc, "single"):
            subject = doc.get("analysis", {}).get("subject", {})
            request = image_service_pb2.GenerateRequest(
                prompt=doc["refined_prompt"] or doc["prompt"],
                style=doc.get("style", ""),
                format=_format(doc),
                subject=common_pb2.Subject(**subject),
                request_id=doc["request_id"],
            )
            reply = await self._call(
                "IMAGE_SERVICE",
                lambda: self._image.Generate(
                    request, timeout=self._limits.image_timeout, metadata=metadata
                ),
            )
            await self._store_image(doc, "single", reply.image, provider=reply.metadata.provider)
        await self._done(doc)

    async def _edit(self, doc: Doc, metadata: Any) -> None:
        if not _has(doc, "edit"):
            request = edit_plan.request_for(doc)
            reply = await self._call(
                "IMAGE_SERVICE",
                lambda: self._image.EditImage(
                    request, timeout=self._limits.image_timeout, metadata=metadata
                ),
            )
            await self._store_image(doc, "edit", reply.image, provider=reply.metadata.provider)
        await self._done(doc)

    async def _angles(self, doc: Doc, metadata: Any) -> None:
        analysis = doc.get("analysis", {})
        wanted: list[str] = analysis.get("angles") or list(DEFAULT_ANGLES)
        failures: dict[str, str] = {}
        for attempt in range(1, self._limits.attempts + 1):
            missing = [a for a in wanted if not _has(doc, a) and a not in failures]
            if not missing:
                break
            request = image_service_pb2.GenerateAnglesRequest(
                subject=common_pb2.Subject(**analysis.get("subject", {})),
                angles=[angle_value(a) for a in missing],
                prompt=doc.get("refined_prompt", ""),
                style=doc.get("style", ""),
                format=_format(doc),
                request_id=doc["request_id"],
            )
            call = self._image.GenerateAngles(
                request, timeout=self._limits.image_timeout, metadata=metadata
            )
            try:
                async for view in call:
                    name = angle_name(view.angle)
                    if view.HasField("error"):
                        failures[name] = f"{view.error.reason}: {view.error.message}"
                        await self._record_failed_view(doc, name, view.error)
                        continue
                    await self._store_image(
                        doc,
                        name,
                        view.image,
                        angle=name,
                        session_id=view.session_id,
                        is_main=name == wanted[0],
                        provider=view.metadata.provider,
                    )
                    doc.setdefault("images", []).append({"key": name})
            except grpc.aio.AioRpcError as exc:
                call.cancel()
                if exc.code() not in TRANSIENT or attempt == self._limits.attempts:
                    raise _upstream_failure("IMAGE_SERVICE", exc) from exc
                log.warning("angle stream broke; retrying the missing views", code=exc.code().name)
                await asyncio.sleep(self._limits.backoff * 2 ** (attempt - 1))
            except Stop:
                call.cancel()
                raise
        stored = [a for a in wanted if _has(doc, a)]
        if not stored:
            detail = "; ".join(f"{k}: {v}" for k, v in failures.items()) or "no view arrived"
            raise Failed("NO_IMAGES", f"none of the views could be generated ({detail})")
        note = ""
        if failures:
            note = "Some views could not be generated: " + ", ".join(sorted(failures)) + "."
        await self._done(doc, note)

    async def _record_failed_view(self, doc: Doc, angle: str, error: common_pb2.Failure) -> None:
        """Show a failed view on the message at once (watchers get an UPDATED event)."""
        failed = [v for v in doc.get("failed_views", []) if v["angle"] != angle]
        failed.append({"angle": angle, "reason": error.reason, "message": error.message})
        updated = await self._store.update_processing(doc["_id"], {"failed_views": failed})
        if updated is None:
            raise Stop
        doc["failed_views"] = failed

    async def _store_image(
        self,
        doc: Doc,
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
                image.data, filename=f"{doc['request_id']}-{key}.{ext}", mime_type=image.mime_type
            )
        except ServiceError as exc:
            raise Failed(exc.reason, f"could not store the image: {exc.message}") from exc
        appended = await self._store.append_image(
            doc["_id"],
            {
                "key": key,
                "image_url": url,
                "angle": angle,
                "seed": image.seed,
                "session_id": session_id,
                "mime_type": image.mime_type,
                "size_bytes": len(image.data),
                "width": image.width,
                "height": image.height,
                "is_main": is_main,
                "provider": provider,
            },
        )
        if not appended:
            current = await self._store.message_by_id(str(doc["_id"]))
            if current is None or current["status"] != PROCESSING:
                raise Stop
            # Already stored by an earlier delivery of this task: nothing to add.

    async def _done(self, doc: Doc, note: str = "") -> None:
        extra = {"reply": " ".join(p for p in (doc.get("reply", ""), note) if p)} if note else None
        if await self._store.finish(doc["_id"], DONE, extra=extra) is None:
            raise Stop
        log.info("message done")

    async def _call(self, upstream: str, make: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, self._limits.attempts + 1):
            try:
                return await make()
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in TRANSIENT or attempt == self._limits.attempts:
                    raise _upstream_failure(upstream, exc) from exc
                log.warning("transient upstream error", upstream=upstream, code=exc.code().name)
                await asyncio.sleep(self._limits.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover


def _has(doc: Doc, key: str) -> bool:
    return any(image.get("key") == key for image in doc.get("images", []))


def _format(doc: Doc) -> common_pb2.ImageFormat.ValueType:
    try:
        return common_pb2.ImageFormat.Value(doc.get("format") or "IMAGE_FORMAT_PNG")
    except ValueError:
        return common_pb2.IMAGE_FORMAT_PNG


def _failure(reason: str, message: str) -> Doc:
    return {"reason": reason, "message": message}


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
