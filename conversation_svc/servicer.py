"""ConversationService over gRPC: the caller (admitted by mesh.access) → validate → store /
queue → proto out."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import grpc
from bson import ObjectId

from conversation_svc import convert
from conversation_svc.model import Failure, NewMessage, ResultRef, Status
from conversation_svc.queue import WorkQueue
from conversation_svc.store import Store, now, object_id, page_size
from conversation_svc.uploads import Uploader
from conversation_svc.watch import watch, watch_changes
from conversation_svc.words import say
from mesh.access import current_caller
from mesh.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from mesh.limits import MAX_PROMPT_CHARS, MAX_STYLE_CHARS, MAX_TOPIC_CHARS, user_text
from mesh.logs import bind_context, get_logger
from mesh.media import check_media_url
from mesh.tracing import current_trace_id
from mesh.vocabulary import LANGUAGE_CHOICES, Language
from photofun.v1 import common_pb2, conversation_service_pb2_grpc
from photofun.v1 import conversation_service_pb2 as pb

log = get_logger(__name__)
Context = grpc.aio.ServicerContext


async def _quietly(step: Awaitable[None]) -> None:
    """Undo a step while another error is on its way out (the sweeper frees what this misses)."""
    with contextlib.suppress(Exception):
        await step


MAX_PROMPT, MAX_STYLE, MAX_TOPIC = MAX_PROMPT_CHARS, MAX_STYLE_CHARS, MAX_TOPIC_CHARS
MAX_TITLE, MAX_KEY = 200, 128
# ListMessages.order_by (AIP-132) -> newest first?
MESSAGE_ORDERS = {
    "": False,
    "create_time": False,
    "create_time asc": False,
    "create_time desc": True,
}


class ConversationServicer(conversation_service_pb2_grpc.ConversationServiceServicer):
    """Conversations, messages, and the hand-off of each message to the worker."""

    def __init__(
        self,
        store: Store,
        queue: WorkQueue,
        *,
        media_service_url: str,
        max_processing_per_user: int,
        message_timeout: float,
        uploader: Uploader,
        media_public_url: str | None = None,
    ) -> None:
        self._store = store
        self._queue = queue
        self._media = media_service_url
        self._media_public = media_public_url
        self._uploader = uploader
        self._cap = max_processing_per_user
        self._timeout = dt.timedelta(seconds=message_timeout)

    async def _user(self, context: Context[Any, Any]) -> str:
        del context  # the gate read the credentials before the handler ran
        return current_caller().user

    async def CreateConversation(
        self,
        request: pb.CreateConversationRequest,
        context: Context[pb.CreateConversationRequest, pb.CreateConversationResponse],
    ) -> pb.CreateConversationResponse:
        """Start a conversation owned by the caller."""
        user = await self._user(context)
        title = request.title.strip()
        if len(title) > MAX_TITLE:
            raise InvalidArgument("title", f"must be at most {MAX_TITLE} characters")
        key = request.idempotency_key.strip()
        if len(key) > MAX_KEY:
            raise InvalidArgument("idempotency_key", f"must be at most {MAX_KEY} characters")
        created = await self._store.create_conversation(user, title, idempotency_key=key or None)
        return pb.CreateConversationResponse(conversation=convert.conversation(created))

    async def GetConversation(
        self,
        request: pb.GetConversationRequest,
        context: Context[pb.GetConversationRequest, pb.GetConversationResponse],
    ) -> pb.GetConversationResponse:
        """One of the caller's conversations."""
        found = await self._store.conversation(await self._user(context), request.conversation_id)
        return pb.GetConversationResponse(conversation=convert.conversation(found))

    async def ListConversations(
        self,
        request: pb.ListConversationsRequest,
        context: Context[pb.ListConversationsRequest, pb.ListConversationsResponse],
    ) -> pb.ListConversationsResponse:
        """The caller's conversations, most recently updated first."""
        user = await self._user(context)
        page = await self._store.list_conversations(
            user, page_size(request.page_size), request.page_token
        )
        return pb.ListConversationsResponse(
            conversations=[convert.conversation(c) for c in page.items],
            next_page_token=page.next_token,
        )

    async def DeleteConversation(
        self,
        request: pb.DeleteConversationRequest,
        context: Context[pb.DeleteConversationRequest, pb.DeleteConversationResponse],
    ) -> pb.DeleteConversationResponse:
        """Delete a conversation and its messages; unfinished work is revoked."""
        running = await self._store.delete_conversation(
            await self._user(context), request.conversation_id, only_if_empty=request.only_if_empty
        )
        for request_id in running:
            await self._queue.revoke(request_id)
        return pb.DeleteConversationResponse()

    async def SendMessage(
        self,
        request: pb.SendMessageRequest,
        context: Context[pb.SendMessageRequest, pb.SendMessageResponse],
    ) -> pb.SendMessageResponse:
        """Store the message as PROCESSING, queue the work, return at once."""
        user = await self._user(context)
        conversation = await self._store.conversation(user, request.conversation_id)
        new = self._new_message(request)
        if new.reference is not None:
            await self._check_reference(conversation.id, new.reference)
        if new.idempotency_key:
            first = await self._store.message_by_key(conversation.id, new.idempotency_key)
            if first is not None:  # a retry: the same message, no second job
                return pb.SendMessageResponse(message=convert.message(first))
        message_id = ObjectId()
        if not await self._store.reserve_processing(user, message_id, new.deadline, self._cap):
            raise ResourceExhausted(
                f"you already have {self._cap} messages processing; wait for one to finish",
                reason="TOO_MANY_PROCESSING",
            )
        try:
            message, created = await self._store.insert_message(
                conversation, new, message_id=message_id
            )
        except Exception:
            await _quietly(self._store.release_processing(user, message_id))
            raise
        if not created:  # the same idempotency key won a race: its first message holds a slot
            await self._store.release_processing(user, message_id)
        if created:
            bind_context(message_id=str(message.id), job=message.request_id)
            try:
                await self._queue.enqueue(str(message.id), message.request_id)
            except Exception:
                await self._store.forget_message(message)
                raise
            log.info("message queued")
        return pb.SendMessageResponse(message=convert.message(message))

    async def _check_reference(self, conversation_id: ObjectId, ref: ResultRef) -> None:
        """A picked result must be an image of a message of this conversation (NOT_FOUND)."""
        picked = await self._store.message_in(conversation_id, ref.message_id)
        if picked is None:
            raise NotFound(f"message {ref.message_id} is not in this conversation")
        if ref.image_index is not None and picked.image_at(ref.image_index) is None:
            raise NotFound(f"message {ref.message_id} has no image {ref.image_index}")

    def _new_message(self, request: pb.SendMessageRequest) -> NewMessage:
        prompt = user_text(request.prompt, "prompt", MAX_PROMPT)
        try:
            lang = Language.parse(request.lang)
        except ValueError:
            raise InvalidArgument(
                "lang", f"must be one of {LANGUAGE_CHOICES}, or empty to detect it"
            ) from None
        for name, value, limit in (
            ("style", request.style, MAX_STYLE),
            ("topic", request.topic, MAX_TOPIC),
            ("idempotency_key", request.idempotency_key, MAX_KEY),
        ):
            if len(value.strip()) > limit:
                raise InvalidArgument(name, f"must be at most {limit} characters")
        image_url = request.image_url.strip()
        if image_url:
            check_media_url(image_url, self._media, self._media_public, field="image_url")
        if request.format not in common_pb2.ImageFormat.values():
            raise InvalidArgument("format", f"unknown image format {request.format}")
        reference = None
        if request.HasField("reference"):
            ref = request.reference
            object_id(ref.message_id, "reference.message_id")
            index = ref.image_index if ref.HasField("image_index") else None
            if index is not None and index < 0:
                raise InvalidArgument("reference.image_index", "must not be negative")
            reference = ResultRef(ref.message_id, index)
        return NewMessage(
            prompt=prompt,
            style=request.style.strip(),
            lang=lang.value if lang else "",
            topic=request.topic.strip(),
            input_image_url=image_url,
            format=common_pb2.ImageFormat.Name(request.format),
            request_id=uuid.uuid4().hex,
            trace_id=current_trace_id(),
            deadline=now() + self._timeout,
            idempotency_key=request.idempotency_key.strip() or None,
            seed=request.seed if request.HasField("seed") else None,
            reference=reference,
            variation_requested=request.variation,
        )

    async def GetMessage(
        self,
        request: pb.GetMessageRequest,
        context: Context[pb.GetMessageRequest, pb.GetMessageResponse],
    ) -> pb.GetMessageResponse:
        """One message of one of the caller's conversations."""
        message = await self._store.message(await self._user(context), request.message_id)
        return pb.GetMessageResponse(message=convert.message(message))

    async def ListMessages(
        self,
        request: pb.ListMessagesRequest,
        context: Context[pb.ListMessagesRequest, pb.ListMessagesResponse],
    ) -> pb.ListMessagesResponse:
        """A conversation's messages, oldest first, or newest first with ``create_time desc``."""
        user = await self._user(context)
        order = " ".join(request.order_by.split()).lower()
        if order not in MESSAGE_ORDERS:
            raise InvalidArgument(
                "order_by", 'must be "create_time" (oldest first) or "create_time desc"'
            )
        page = await self._store.list_messages(
            user,
            request.conversation_id,
            page_size(request.page_size),
            request.page_token,
            newest_first=MESSAGE_ORDERS[order],
        )
        return pb.ListMessagesResponse(
            messages=[convert.message(m) for m in page.items], next_page_token=page.next_token
        )

    async def WatchMessage(
        self,
        request: pb.WatchMessageRequest,
        context: Context[pb.WatchMessageRequest, pb.WatchMessageResponse],
    ) -> AsyncIterator[pb.WatchMessageResponse]:
        """The message's state, then every change until it is terminal."""
        user = await self._user(context)

        async def opened() -> None:
            await context.send_initial_metadata(())

        changes = watch(self._store, user, request.message_id, request.resume_token, opened)
        async for change in changes:
            yield pb.WatchMessageResponse(
                event=change.event,
                message=convert.message(change.message),
                resume_token=change.resume_token,
            )

    async def WatchConversation(
        self,
        request: pb.WatchConversationRequest,
        context: Context[pb.WatchConversationRequest, pb.WatchConversationResponse],
    ) -> AsyncIterator[pb.WatchConversationResponse]:
        """Every change of one of the caller's conversations, as it happens."""
        user = await self._user(context)

        async def opened() -> None:
            await context.send_initial_metadata(())

        changes = watch_changes(
            self._store, user, request.conversation_id, request.resume_token, opened
        )
        async for c in changes:
            yield pb.WatchConversationResponse(
                change=c.change,
                message=convert.message(c.message) if c.message else None,
                message_id=c.message_id,
                conversation=convert.conversation(c.conversation) if c.conversation else None,
                resume_token=c.resume_token,
            )

    async def WatchConversations(
        self,
        request: pb.WatchConversationsRequest,
        context: Context[pb.WatchConversationsRequest, pb.WatchConversationsResponse],
    ) -> AsyncIterator[pb.WatchConversationsResponse]:
        """Every change of the caller's list of conversations, as it happens."""
        user = await self._user(context)

        async def opened() -> None:
            await context.send_initial_metadata(())

        async for c in watch_changes(self._store, user, None, request.resume_token, opened):
            yield pb.WatchConversationsResponse(
                change=c.change,
                conversation=convert.conversation(c.conversation) if c.conversation else None,
                conversation_id=c.conversation_id,
                resume_token=c.resume_token,
            )

    async def CancelMessage(
        self,
        request: pb.CancelMessageRequest,
        context: Context[pb.CancelMessageRequest, pb.CancelMessageResponse],
    ) -> pb.CancelMessageResponse:
        """Stop the work and mark the message CANCELLED."""
        message = await self._store.message(await self._user(context), request.message_id)
        finished = await self._store.finish(
            message.id,
            Status.CANCELLED,
            failure=Failure("CANCELLED_BY_USER", say("failure.cancelled", message)),
        )
        if finished is None:
            current = await self._store.message_by_id(message.id)
            status = current.status.value if current else "deleted"
            raise FailedPrecondition(
                f"the message is already {status}; only PROCESSING messages can be cancelled",
                reason="MESSAGE_FINISHED",
            )
        await self._queue.revoke(message.request_id)
        return pb.CancelMessageResponse(message=convert.message(finished))

    async def UploadImage(
        self,
        request: pb.UploadImageRequest,
        context: Context[pb.UploadImageRequest, pb.UploadImageResponse],
    ) -> pb.UploadImageResponse:
        """Check the image, store it on the Media Service, return its URL."""
        stored = await self._uploader.store(
            await self._user(context), request.data, request.filename
        )
        log.info(
            "image uploaded", url=stored.url, mime_type=stored.mime_type, size=stored.size_bytes
        )
        return pb.UploadImageResponse(
            image_url=stored.url,
            mime_type=stored.mime_type,
            width=stored.width,
            height=stored.height,
            size_bytes=stored.size_bytes,
        )
