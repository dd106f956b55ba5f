"""What the worker does with one message: analyse → route by intent → images → terminal state.

Safe to run twice for the same message (a crashed worker's task is delivered again): the
analysis is reused when stored, only views not yet stored are generated, each image is appended
under a unique key, and every state change is guarded by ``status: PROCESSING``. Transient
upstream errors (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, the Media Service's 5xx and
refused connections) are retried with backoff and jitter (or after the wait a server asked for)
until the message's retry budget is spent, so an outage shorter than the budget costs nothing;
anything else ends the message FAILED with a readable reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeVar

import grpc

from conversation_svc import convert, edit_plan
from conversation_svc.model import (
    Analysis,
    Failure,
    Message,
    MessageImage,
    ResultRef,
    Status,
    Subject,
    ViewFailure,
)
from conversation_svc.store import Store, now
from conversation_svc.words import lang_of, say, view_name
from mesh.access import USER_KEY
from mesh.errors import ServiceError, error_info
from mesh.i18n import Key, Worded, reason_key, replies
from mesh.limits import MAX_REFINED_PROMPT_CHARS, cut, fit_subject
from mesh.logs import bind_context, get_logger
from mesh.media import MediaClient, MediaUnavailable
from mesh.metrics import UPSTREAM_CALLS, UPSTREAM_RETRIES
from mesh.retry import Backoff, RetryBudget
from mesh.tracing import fail_span, span
from mesh.vocabulary import FollowUp, Intent, angle_name, angle_value
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
# The conversation window a message is understood in: its last DONE messages, each cut to
# size, so a long conversation costs the same per message as a short one.
CONTEXT_TURNS = 6
TURN_PROMPT_CHARS, TURN_REFINED_CHARS, TURN_IMAGES = 500, 1000, 9
# Replies and failures in words come from the message catalogue (mesh/locale), in the
# language of the message; these are the English texts.
NOTHING_TO_VARY = replies("reply.nothing_to_vary", "en")
EDITS_DO_NOT_VARY = replies("reply.edits_do_not_vary", "en")
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


class Stop(Exception):
    """The message is no longer PROCESSING (cancelled or settled elsewhere): stop quietly."""


# ErrorInfo reasons an upstream gives when the user's input is what is wrong (image_svc's
# INPUT_IMAGE_NOT_FOUND, INPUT_IMAGE_UNREADABLE): a message that fails so keeps that reason.
INPUT_REASON_PREFIX = "INPUT_"


class Failed(Exception):
    """End the message FAILED with this reason, in the words of the catalogue's `key`.
    ``upstream`` is what the failing service said, in its own (English) words: for the logs
    and the trace, never shown to the user, who gets the reason worded in their language."""

    def __init__(self, reason: str, key: str, /, *, upstream: str = "", **values: object) -> None:
        super().__init__(replies(key, "en", **values))
        self.reason = reason
        self.key = key
        self.values = values
        self.upstream = upstream

    def words(self, lang: str) -> str:
        """The failure in words, in `lang`."""
        return replies(self.key, lang, **self.values)


@dataclass(frozen=True)
class Limits:
    """Deadlines and retry policy of upstream calls: waits grow from ``retry.first`` to
    ``retry.cap`` (short, so a service that is back is used again within seconds), and a
    message gives up once its failures and waits took ``retry_budget`` seconds."""

    prompt_timeout: float = 30.0
    image_timeout: float = 180.0
    retry: Backoff = field(default_factory=lambda: Backoff(first=0.25, cap=2.0, jitter=0.3))
    retry_budget: float = 45.0


# The retry budget of the message the current task runs (each message runs in its own task).
_budget: contextvars.ContextVar[RetryBudget] = contextvars.ContextVar("retry_budget")


@dataclass(frozen=True)
class Understood:
    """What a message asks for, once its follow-up (if any) is resolved."""

    intent: Intent
    refined: str
    text: str  # the reply to show
    lang: str  # the language the message was read in, for replies written here
    subject: Subject
    angles: tuple[str, ...]
    follow_up: FollowUp = FollowUp.NONE
    source: Message | None = None  # the earlier result it continues
    variation: int = 0
    input_url: str | None = None  # the image an edit follow-up takes


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

    @property
    def store(self) -> Store:
        """The data access the pipeline writes through."""
        return self._store

    async def run(self, message_id: str | Message) -> None:
        """Take one message to a terminal state (or leave it if it already is in one). Given a
        message rather than an id, it starts from that state (just read by the caller): every
        write is guarded by the message being PROCESSING, so a state one read old is safe."""
        message = (
            message_id
            if isinstance(message_id, Message)
            else await self._store.message_by_id(message_id)
        )
        if message is None or message.terminal:
            log.info("nothing to do", message_id=message_id, status=message and message.status)
            return
        bind_context(message_id=message_id, request_id=message.request_id)
        _budget.set(RetryBudget(self._limits.retry_budget))
        deadline = message.deadline or now()
        remaining = (deadline.replace(tzinfo=dt.UTC) - now()).total_seconds()
        try:
            async with asyncio.timeout(max(remaining, 0.001)):
                await self._run(message)
        except Stop:
            log.info("stopped: the message is no longer processing")
        except Failed as exc:
            log.warning("message failed", reason=exc.reason, upstream=exc.upstream)
            words = exc.words(await self._lang(message))
            # The message's own span (the task's) says it failed, for operators: in English.
            fail_span(exc.reason, "; ".join(p for p in (str(exc), exc.upstream) if p))
            await self._store.finish(message.id, Status.FAILED, failure=Failure(exc.reason, words))
        except TimeoutError:
            words = replies("failure.timed_out", await self._lang(message))
            fail_span("TIMED_OUT", words)
            await self._store.finish(message.id, Status.FAILED, failure=Failure("TIMED_OUT", words))

    async def _lang(self, message: Message) -> str:
        """The language to answer in, from the message as stored now (with its analysis)."""
        return lang_of(await self._store.message_by_id(message.id) or message)

    async def _run(self, message: Message) -> None:
        # Calls for the message's owner: believed from the worker's service identity only.
        metadata = (("x-request-id", message.request_id), (USER_KEY, message.owner))
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
        with span("analysis", message_id=str(message.id)) as current:
            analysed = await self._understand(message, metadata)
            current.set_attribute(
                "photofun.intent", analysed.intent.value if analysed.intent else ""
            )
            return analysed

    async def _understand(self, message: Message, metadata: Metadata) -> Message:
        window = await self._window(message)
        request = prompt_service_pb2.RefineRequest(
            prompt=message.prompt,
            style=message.style,
            lang=message.lang,
            topic=message.topic,
            image_url=message.input_image_url,
            context=common_pb2.ConversationContext(
                turns=[_turn(m, _picked(message, m)) for m in window]
            ),
        )
        reply = await self._call(
            "PROMPT_SERVICE",
            lambda: self._prompt.Refine(
                request, timeout=self._limits.prompt_timeout, metadata=metadata
            ),
        )
        source = window[reply.source_turn] if 0 <= reply.source_turn < len(window) else None
        follow_up = FollowUp.from_proto(reply.follow_up) if source else FollowUp.NONE
        intent = Intent.from_proto(reply.intent) or Intent.GENERATE_IMAGE
        attached = _attached_pick(message, window)
        if attached is not None and follow_up is FollowUp.NONE and intent.needs_image:
            # The picked result is also the attached picture (the page's "Edit"): an edit of it.
            follow_up, source = FollowUp.EDIT, attached
        u = await self._continue(
            message,
            window,
            Understood(
                intent=intent,
                refined=reply.refined_prompt,
                text=reply.reply,
                lang=reply.lang,
                subject=convert.subject_from_proto(reply.subject),
                angles=tuple(name for name in map(angle_name, reply.angles) if name),
                follow_up=follow_up,
                source=source,
            ),
        )
        intent, angles, follow_up, source = u.intent, u.angles, u.follow_up, u.source
        if intent is Intent.GENERATE_ANGLES and not angles:
            angles = DEFAULT_ANGLES
        expected = {Intent.CHAT: 0, Intent.GENERATE_ANGLES: len(angles)}.get(intent, 1)
        updated = await self._store.record_analysis(
            message.id,
            intent=intent,
            refined_prompt=u.refined,
            keywords=reply.keywords,
            reply=u.text,
            expected_image_count=expected,
            analysis=Analysis(
                angles=angles,
                lang=reply.lang,
                provider=reply.metadata.provider,
                fallback_used=reply.metadata.fallback_used,
                subject=u.subject,
            ),
            follow_up=follow_up,
            source=(
                ResultRef(str(source.id), _picked(message, source))
                if source is not None and follow_up is not FollowUp.NONE
                else None
            ),
            variation=u.variation,
            input_image_url=u.input_url,
        )
        if updated is None:
            raise Stop
        log.info(
            "analysed",
            intent=intent.value,
            follow_up=follow_up.value or None,
            provider=reply.metadata.provider,
        )
        return updated

    async def _continue(self, message: Message, window: list[Message], u: Understood) -> Understood:
        """Apply what the message continues: the earlier result's subject and views for a
        variation (with its next take), its take for more views, its image for an edit."""
        if message.variation_requested:  # the page's Variation / Regenerate: whatever was typed
            source = _last_result(message, window)
            if source is None:
                text = replies("reply.nothing_to_vary", u.lang)
                return replace(u, intent=Intent.CHAT, text=text, follow_up=FollowUp.NONE)
            u = replace(u, follow_up=FollowUp.VARIATION, source=source)
        source = u.source
        if source is None:
            return replace(u, follow_up=FollowUp.NONE)
        if u.follow_up is FollowUp.VARIATION:
            return await self._vary(message, window, u, source)
        if u.follow_up is FollowUp.MORE_VIEWS:
            return replace(u, variation=source.variation)  # the same take: the views match
        if u.follow_up is FollowUp.EDIT and not message.input_image_url:
            picked = source.image_at(_picked(message, source))
            u = (
                replace(u, input_url=picked.image_url)
                if picked
                else replace(u, follow_up=FollowUp.NONE)
            )
        elif u.follow_up in _REDRAWS and u.intent.needs_image and not message.input_image_url:
            u = self._redraw(window, u)
        return u

    def _redraw(self, window: list[Message], u: Understood) -> Understood:
        """A change of subject after an edit ("make it red" after "make it anime style"): an
        edit has no subject of its own to redraw, so the changed subject is drawn as the last
        drawn result was (its intent and views), as another one after an edit is."""
        drawn = _last_drawn(window)
        if drawn is None or drawn.intent is None:
            # Nothing drawn to follow (only edits of uploads): one picture of the subject.
            return replace(u, intent=Intent.GENERATE_IMAGE, angles=(), source=None)
        angles = _drawn_angles(drawn) if drawn.intent is Intent.GENERATE_ANGLES else ()
        return replace(u, intent=drawn.intent, angles=angles, source=drawn)

    async def _vary(
        self, message: Message, window: list[Message], u: Understood, source: Message
    ) -> Understood:
        """Another take of ``source``: its request again, with the next take number."""
        if source.intent and source.intent.needs_image and not _picked_message(message, source):
            # "Another one" after an edit means another take of the last drawn picture.
            source = _last_drawn(window) or source
        if not source.images or source.intent is None:
            text = replies("reply.nothing_to_vary", u.lang)
            return replace(u, intent=Intent.CHAT, follow_up=FollowUp.NONE, text=text)
        if source.intent.needs_image:
            text = replies("reply.edits_do_not_vary", u.lang)
            return replace(u, intent=Intent.CHAT, follow_up=FollowUp.NONE, text=text)
        return replace(
            u,
            source=source,
            intent=source.intent,
            refined=source.refined_prompt or u.refined,
            subject=source.analysis.subject if source.analysis else u.subject,
            angles=_drawn_angles(source),
            variation=await self._store.next_variation(message.conversation_id, _take(source)),
        )

    async def _window(self, message: Message) -> list[Message]:
        """The earlier results the message is understood with, oldest first; a picked
        result comes last, so "it" means the picked one."""
        window = await self._store.recent_results(
            message.conversation_id, message.create_time, CONTEXT_TURNS
        )
        if message.reference is None:
            return window
        picked = await self._store.message_in(message.conversation_id, message.reference.message_id)
        if picked is None:  # deleted since SendMessage checked it
            return window
        others = [m for m in window if m.id != picked.id]
        return [*others[-(CONTEXT_TURNS - 1) :], picked]

    async def _single(self, message: Message, metadata: Metadata) -> None:
        if not message.has_image("single"):
            request = image_service_pb2.GenerateRequest(
                prompt=_image_prompt(message),
                seed=message.seed,
                style=message.style,
                format=edit_plan.image_format(message),
                subject=_subject(message),
                request_id=message.request_id,
                variation=message.variation,
            )
            reply = await self._call(
                "IMAGE_SERVICE",
                lambda: self._image.Generate(
                    request, timeout=self._limits.image_timeout, metadata=metadata
                ),
            )
            if await self._store_image(message, "single", reply.image, reply.metadata.provider):
                return
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
            if await self._store_image(message, "edit", reply.image, reply.metadata.provider):
                return
        await self._done(message)

    async def _angles(self, message: Message, metadata: Metadata) -> None:
        wanted = (message.analysis.angles if message.analysis else ()) or DEFAULT_ANGLES
        session_id = ""
        if message.follow_up is FollowUp.MORE_VIEWS and message.source is not None:
            source = await self._store.message_by_id(message.source.message_id)
            session_id = source.session_id if source is not None else ""
        stored = {image.key for image in message.images}
        failed = list(message.failed_views)  # as stored: an earlier delivery's stay listed
        failures: dict[str, str] = {}  # this run's (view → reason), asked for again by no retry
        attempt, finished = 0, False
        while missing := [a for a in wanted if a not in stored and a not in failures]:
            attempt += 1
            started = time.monotonic()
            request = image_service_pb2.GenerateAnglesRequest(
                subject=_subject(message),
                angles=[angle_value(a) for a in missing],
                prompt=cut(message.refined_prompt, MAX_REFINED_PROMPT_CHARS),
                style=message.style,
                session_id=session_id,
                seed=message.seed,
                format=edit_plan.image_format(message),
                request_id=message.request_id,
                variation=message.variation,
            )
            call = self._image.GenerateAngles(
                request, timeout=self._limits.image_timeout, metadata=metadata
            )
            stream = _Views(call)
            try:
                while batch := await stream.next_batch():
                    finished = await self._store_views(
                        message, batch, wanted, stored=stored, failures=failures, failed=failed
                    )
                    started = time.monotonic()  # a break later costs only the time since this
                UPSTREAM_CALLS.labels("IMAGE_SERVICE", "OK").inc()
            except grpc.aio.AioRpcError as exc:
                call.cancel()
                UPSTREAM_CALLS.labels("IMAGE_SERVICE", exc.code().name).inc()
                if exc.code() not in TRANSIENT:
                    raise _upstream_failure("IMAGE_SERVICE", exc) from exc
                await self._pause(
                    attempt,
                    started,
                    error_info(exc).retry_delay,
                    _upstream_failure("IMAGE_SERVICE", exc),
                    what="angle stream broke; retrying the missing views",
                    upstream="IMAGE_SERVICE",
                    code=exc.code().name,
                )
            except Stop:
                call.cancel()
                raise
            finally:
                await stream.close()
        if not any(a in stored for a in wanted):
            raise Failed(
                "NO_IMAGES",
                "failure.no_images",
                detail=Worded(lambda lang: _views_failed(failures, lang))
                if failures
                else Key("failure.no_view_arrived"),
            )
        if finished:
            return
        note = ""
        if failures:
            views = ", ".join(view_name(a, message) for a in sorted(failures))
            note = say("note.views_failed", message, views=views)
        await self._done(message, note)

    async def _store_views(
        self,
        message: Message,
        batch: list[Any],
        wanted: Sequence[str],
        *,
        stored: set[str],
        failures: dict[str, str],
        failed: list[ViewFailure],
    ) -> bool:
        """Store the views that arrived together: failures named on the message at once, the
        drawn ones uploaded at once and appended in one write, which ends the message DONE when
        it completes the set with none failed (True then). Updates ``stored``, ``failures`` (this
        run's) and ``failed`` (the message's list)."""
        drawn = []
        for view in batch:
            name = angle_name(view.angle)
            if view.HasField("error"):
                reason = view.error.reason
                log.warning("view failed", angle=name, reason=reason, upstream=view.error.message)
                failures[name] = reason
                failed[:] = [v for v in failed if v.angle != name]
                # Said in the message's language, by its reason: the image service's own
                # English stays in its logs and this one.
                failed.append(ViewFailure(name, reason, say(reason_key(reason), message)))
                # Shown on the message at once: watchers get an UPDATED event.
                if await self._store.record_failed_views(message.id, failed) is None:
                    raise Stop
            else:
                drawn.append((name, view))
        if not drawn:
            return False
        records = await asyncio.gather(
            *(
                self._upload(
                    message,
                    name,
                    view.image,
                    angle=name,
                    session_id=view.session_id,
                    is_main=name == wanted[0],
                    provider=view.metadata.provider,
                )
                for name, view in drawn
            )
        )
        names = {name for name, _ in drawn}
        last = not failures and all(a in stored or a in names for a in wanted)
        finished = await self._append(message, list(records), done=last)
        stored |= names
        return finished

    async def _store_image(
        self, message: Message, key: str, image: common_pb2.Image, provider: str
    ) -> bool:
        """Upload a message's one image and end the message DONE in the write that appends it;
        True when it did (False: the image was there already)."""
        record = await self._upload(message, key, image, provider=provider)
        return await self._append(message, [record], done=True)

    async def _upload(
        self,
        message: Message,
        key: str,
        image: common_pb2.Image,
        *,
        angle: str = "",
        session_id: str = "",
        is_main: bool = False,
        provider: str = "",
    ) -> MessageImage:
        """Store one image at the Media Service (retrying within the budget); its record."""
        ext = EXTENSIONS.get(image.mime_type, "bin")
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            with span("upload", view=key, size_bytes=len(image.data)):
                try:
                    url = await self._media.upload(
                        image.data,
                        filename=f"{message.request_id}-{key}.{ext}",
                        mime_type=image.mime_type,
                    )
                except ServiceError as exc:
                    UPSTREAM_CALLS.labels("MEDIA_SERVICE", exc.reason).inc()
                    fail_span(exc.reason, exc.message)
                    failure = Failed(
                        exc.reason,
                        "failure.store_image",
                        detail=reason_key(exc.reason),
                        upstream=exc.message,
                    )
                    if not isinstance(exc, MediaUnavailable):  # refused: trying again won't help
                        raise failure from exc
                    asked = exc.retry_after
                else:
                    UPSTREAM_CALLS.labels("MEDIA_SERVICE", "OK").inc()
                    break
            # Down, 5xx or busy after the client's own quick retries: wait within the budget
            # (as long as the Media Service asked, when it said).
            await self._pause(
                attempt,
                started,
                asked,
                failure,
                what="media upload failed",
                upstream="MEDIA_SERVICE",
            )
        return MessageImage(
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
            seed_reproducible=image.seed_reproducible,
        )

    async def _append(self, message: Message, records: list[MessageImage], *, done: bool) -> bool:
        """Append uploaded images in one write (ending the message DONE with ``done``); True
        when that write ended it. Images an earlier delivery of this task stored are skipped."""
        appended = await self._store.append_images(message.id, records, done=done)
        if not appended:
            current = await self._store.message_by_id(message.id)
            if current is None or current.terminal:
                raise Stop
            have = {image.key for image in current.images}
            rest = [r for r in records if r.key not in have]
            if not rest:
                return False  # all stored by an earlier delivery: nothing to add
            return await self._append(message, rest, done=done)  # some were there: the others
        if done:
            log.info("message done")
        return done

    async def _done(self, message: Message, note: str = "") -> None:
        reply = " ".join(p for p in (message.reply, note) if p) if note else None
        if await self._store.finish(message.id, Status.DONE, reply=reply) is None:
            raise Stop
        log.info("message done")

    async def _call(self, upstream: str, make: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                result = await make()
            except grpc.aio.AioRpcError as exc:
                UPSTREAM_CALLS.labels(upstream, exc.code().name).inc()
                failure = _upstream_failure(upstream, exc)
                if exc.code() not in TRANSIENT:
                    raise failure from exc
                hint = error_info(exc).retry_delay
                await self._pause(
                    attempt,
                    started,
                    hint,
                    failure,
                    what="transient upstream error",
                    upstream=upstream,
                    code=exc.code().name,
                )
            else:
                UPSTREAM_CALLS.labels(upstream, "OK").inc()
                return result

    async def _pause(
        self,
        attempt: int,
        started: float,
        hint: float | None,
        failure: Failed,
        *,
        what: str,
        upstream: str,
        **fields: object,
    ) -> None:
        """Charge the failed attempt to the message's retry budget and wait before the next
        one (backoff with jitter, or the server's hint); raise ``failure`` when the budget
        cannot pay for the wait."""
        budget = _budget.get(None)
        if budget is None:  # called outside run(): the budget lives for this task
            budget = RetryBudget(self._limits.retry_budget)
            _budget.set(budget)
        budget.spend(time.monotonic() - started)
        delay = self._limits.retry.delay(attempt, hint=hint)
        if not budget.affords(delay):
            log.warning("retry budget spent", attempts=attempt, upstream=upstream, **fields)
            raise failure
        budget.spend(delay)
        UPSTREAM_RETRIES.labels(upstream).inc()
        log.warning(what, attempt=attempt, wait=round(delay, 2), upstream=upstream, **fields)
        await asyncio.sleep(delay)


class _Views:
    """The views of an angle stream in batches: each batch is what arrived while the previous
    one was being stored (at least one view), so views that come together are stored in one
    write and a view that comes alone is stored at once."""

    _END: Final = object()

    def __init__(self, call: grpc.aio.UnaryStreamCall[Any, Any]) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(call), name="angle-stream")

    async def _read(self, call: grpc.aio.UnaryStreamCall[Any, Any]) -> None:
        try:
            async for view in call:
                self._queue.put_nowait(view)
        except grpc.aio.AioRpcError as exc:
            self._queue.put_nowait(exc)
        else:
            self._queue.put_nowait(self._END)

    async def next_batch(self) -> list[Any]:
        """The views that arrived (waiting for one); [] at the end; the stream's error raised
        after the views that came before it."""
        items = [await self._queue.get()]
        while not self._queue.empty():
            items.append(self._queue.get_nowait())
        views = [i for i in items if i is not self._END and not isinstance(i, Exception)]
        ended = [i for i in items if i is self._END or isinstance(i, Exception)]
        if ended and not views:
            if isinstance(ended[0], Exception):
                raise ended[0]
            return []
        for item in ended:  # after the views of this batch are handled
            self._queue.put_nowait(item)
        return views

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def _image_prompt(message: Message) -> str:
    """What image_svc is asked to draw, cut to its limit."""
    return cut(message.refined_prompt or message.prompt, MAX_REFINED_PROMPT_CHARS)


def _subject(message: Message) -> common_pb2.Subject:
    """The subject for image_svc, cut to its limits; the prompt names it when the analysis
    did not (GenerateAngles needs one)."""
    subject = message.analysis.subject if message.analysis else Subject()
    return fit_subject(convert.subject_to_proto(subject), fallback=_image_prompt(message))


def _picked(message: Message, result: Message) -> int | None:
    """The image of ``result`` the message picked, when it picked one of ``result``'s."""
    ref = message.reference
    return ref.image_index if ref is not None and ref.message_id == str(result.id) else None


def _last_result(message: Message, window: list[Message]) -> Message | None:
    """What "another one" varies: the picked result, else the latest one with images."""
    if (
        message.reference is not None
        and window
        and str(window[-1].id) == message.reference.message_id
    ):
        return window[-1]
    return next((m for m in reversed(window) if m.images), None)


def _attached_pick(message: Message, window: list[Message]) -> Message | None:
    """The picked result, when the image attached to the message is that result's picture."""
    if message.reference is None or not message.input_image_url:
        return None
    picked = next((m for m in window if str(m.id) == message.reference.message_id), None)
    image = picked.image_at(message.reference.image_index) if picked else None
    return picked if image is not None and image.image_url == message.input_image_url else None


def _picked_message(message: Message, result: Message) -> bool:
    """True when the caller picked ``result`` itself."""
    return message.reference is not None and message.reference.message_id == str(result.id)


# Follow-ups that draw the subject again (an edit follow-up takes the picture instead).
_REDRAWS = frozenset({FollowUp.CHANGE_SUBJECT})


def _last_drawn(window: list[Message]) -> Message | None:
    """The latest result that was drawn (not an edit of a picture)."""
    return next(
        (m for m in reversed(window) if m.images and m.intent and not m.intent.needs_image), None
    )


def _drawn_angles(message: Message) -> tuple[str, ...]:
    """The views a result drew, in the order asked."""
    asked = message.analysis.angles if message.analysis else ()
    return asked or tuple(i.angle for i in message.images if i.angle)


def _take(message: Message) -> str:
    """What identifies a subject's takes: its session, or the prompt a single one came from."""
    return message.session_id or f"single:{message.refined_prompt or message.prompt}"


def _turn(message: Message, picked: int | None) -> common_pb2.ConversationTurn:
    """One earlier result as context, cut to size; a picked image comes first."""
    images = list(message.images)
    chosen = message.image_at(picked)
    if chosen is not None:
        images = [chosen] + [i for i in images if i is not chosen]
    subject = message.analysis.subject if message.analysis else Subject()
    return common_pb2.ConversationTurn(
        prompt=message.prompt[:TURN_PROMPT_CHARS],
        intent=message.intent.to_proto() if message.intent else common_pb2.INTENT_UNSPECIFIED,
        refined_prompt=message.refined_prompt[:TURN_REFINED_CHARS],
        subject=convert.subject_to_proto(subject),
        session_id=message.session_id,
        angles=[angle_value(a) for a in _drawn_angles(message) if angle_value(a)],
        image_urls=[i.image_url for i in images[:TURN_IMAGES]],
    )


def _upstream_failure(upstream: str, exc: grpc.aio.AioRpcError) -> Failed:
    code = exc.code()
    if code in TRANSIENT:
        return Failed(
            f"{upstream}_UNAVAILABLE",
            "failure.unavailable",
            service=Key(f"service.{upstream}"),
            code=code.name,
        )
    reason = error_info(exc).reason
    if reason.startswith(INPUT_REASON_PREFIX):
        # The user's own input is at fault (the attached picture is gone or is no picture):
        # the failure says so by that reason, not as a refusal of the service.
        return Failed(reason, reason_key(reason, code.name), upstream=exc.details() or code.name)
    return Failed(
        f"{upstream}_{code.name}",
        "failure.refused",
        service=Key(f"service.{upstream}"),
        detail=reason_key(reason, code.name),
        upstream=exc.details() or code.name,
    )


def _views_failed(failures: dict[str, str], lang: str) -> str:
    """ "side: no image provider could draw it; rear: …" in `lang`; a view this version has no
    words for keeps its name (as `conversation_svc.words.view_name` does)."""
    known = replies.messages("en")

    def name(angle: str) -> str:
        key = f"angle.{angle}"
        return replies(key, lang) if angle and key in known else angle or "?"

    return "; ".join(
        replies("failure.view", lang, view=name(angle), reason=replies(reason_key(reason), lang))
        for angle, reason in sorted(failures.items())
    )
