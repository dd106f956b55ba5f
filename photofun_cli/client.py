"""What `photofun` says to the outside: ConversationService over gRPC, media over HTTP.

No printing here; progress and retries are reported through callbacks so ``cli_render`` can
show them and tests can drive this module against real servers. What it says in words (a note,
an error) comes from the command's catalogue (`photofun_cli.words`), in its language.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import httpx
from PIL import Image, ImageOps

from mesh.retry import Backoff
from mesh.vocabulary import angle_name
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc
from photofun_cli.words import number, say

TERMINAL = frozenset(
    {pb.MESSAGE_STATUS_DONE, pb.MESSAGE_STATUS_FAILED, pb.MESSAGE_STATUS_CANCELLED}
)
# Words grpc-core uses when a stream dies under a call rather than being refused by the server.
_RESET_WORDS = ("rst_stream", "stream removed", "connection reset", "socket closed")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
UPLOAD_LIMIT = 3 * 1024 * 1024  # UploadImageRequest.data's documented limit
FIT_SIDE = 2048  # what a picture over the limit is scaled to, as the web page does


# Reconnects and safe retries: five tries, 0.25 s doubling to 4 s, ±20 %.
RECONNECT = Backoff(attempts=5, first=0.25, cap=4.0, jitter=0.2)


@dataclass(frozen=True)
class Retry:
    """One retry about to happen, for the user to see."""

    what: str
    attempt: int
    attempts: int
    delay: float
    code: str


RetryHook = Callable[[Retry], None]


def is_dropped(error: grpc.aio.AioRpcError) -> bool:
    """True when the connection failed under the call, so trying again can succeed."""
    if error.code() == grpc.StatusCode.UNAVAILABLE:
        return True
    details = (error.details() or "").lower()
    return error.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN) and any(
        word in details for word in _RESET_WORDS
    )


@dataclass(frozen=True)
class Fitted:
    """What to upload for a picture file, and what was done to it ("" when nothing)."""

    data: bytes
    filename: str
    note: str = ""


def fit_for_upload(data: bytes, filename: str) -> Fitted:
    """``data`` as it is when within the upload limit (the service checks and cleans it);
    otherwise turned upright, scaled to ``FIT_SIDE`` px and written as JPEG, at lower quality
    or size until it fits. ``ValueError`` when a file over the limit is not a picture."""
    if len(data) <= UPLOAD_LIMIT:
        return Fitted(data, filename)
    try:
        with Image.open(io.BytesIO(data)) as opened:
            before = opened.size
            picture = ImageOps.exif_transpose(opened)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(say("upload.notPicture", name=filename)) from exc
    if picture.mode in ("RGBA", "LA", "P"):  # JPEG has no transparency: white behind it
        backdrop = Image.new("RGB", picture.size, "white")
        backdrop.paste(picture.convert("RGBA"), mask=picture.convert("RGBA"))
        picture = backdrop
    picture = picture.convert("RGB")
    side = FIT_SIDE
    while True:
        scaled = picture.copy()
        scaled.thumbnail((side, side), Image.Resampling.LANCZOS)
        for quality in (90, 82, 74, 66):
            out = io.BytesIO()
            scaled.save(out, "JPEG", quality=quality)
            if out.tell() <= UPLOAD_LIMIT:
                stem = filename.rsplit(".", 1)[0] or "picture"
                note = say(
                    "upload.scaled",
                    name=filename,
                    size=number(len(data) / 2**20),
                    width=scaled.width,
                    height=scaled.height,
                    sent=number(out.tell() / 2**20),
                    before_width=before[0],
                    before_height=before[1],
                )
                return Fitted(out.getvalue(), f"{stem}.jpg", note)
        side = side * 3 // 4


class ConversationClient:
    """The ConversationService calls the CLI makes, each with the caller's bearer token."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        token: str,
        *,
        timeout: float = 30.0,
        backoff: Backoff | None = None,
        on_retry: RetryHook | None = None,
    ) -> None:
        self._stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._timeout = timeout
        self._backoff = backoff or RECONNECT
        self._on_retry = on_retry or (lambda _retry: None)

    async def create_conversation(self, title: str) -> pb.Conversation:
        """Start a conversation; a dropped call is retried with the same request id, so the
        server returns the conversation the first attempt made instead of a second one."""
        request = pb.CreateConversationRequest(title=title, idempotency_key=uuid.uuid4().hex)
        attempt = 0
        while True:
            try:
                response = await self._stub.CreateConversation(
                    request, metadata=self._metadata, timeout=self._timeout
                )
            except grpc.aio.AioRpcError as exc:
                if not is_dropped(exc):
                    raise
                attempt = await self._pause("create", attempt, exc)
            else:
                return response.conversation

    async def send_message(self, request: pb.SendMessageRequest) -> pb.Message:
        """Send a message; with an idempotency key a dropped call is retried safely."""
        attempt = 0
        while True:
            try:
                response = await self._stub.SendMessage(
                    request, metadata=self._metadata, timeout=self._timeout
                )
            except grpc.aio.AioRpcError as exc:
                if not request.idempotency_key or not is_dropped(exc):
                    raise
                attempt = await self._pause("send", attempt, exc)
            else:
                return response.message

    async def upload_image(self, data: bytes, filename: str) -> pb.UploadImageResponse:
        """Store an input image on the Media Service (through the service); a dropped call is
        retried: the upload carries a key made from the bytes, so it stores one file."""
        request = pb.UploadImageRequest(data=data, filename=filename)
        attempt = 0
        while True:
            try:
                return await self._stub.UploadImage(
                    request, metadata=self._metadata, timeout=self._timeout
                )
            except grpc.aio.AioRpcError as exc:
                if not is_dropped(exc):
                    raise
                attempt = await self._pause("upload", attempt, exc)

    async def watch(self, message_id: str) -> AsyncIterator[pb.WatchMessageResponse]:
        """Every change of a message until it is terminal, reconnecting after drops.

        A reconnect passes the last ``resume_token`` so no change is lost or repeated; the
        attempt budget is refilled whenever a change arrives.
        """
        token, attempt, finished = "", 0, False
        while not finished:
            call = self._stub.WatchMessage(
                pb.WatchMessageRequest(message_id=message_id, resume_token=token),
                metadata=self._metadata,
            )
            try:
                async for response in call:
                    attempt = 0
                    token = response.resume_token or token
                    finished = response.message.status in TERMINAL
                    yield response
                    if finished:
                        break
            except grpc.aio.AioRpcError as exc:
                if not is_dropped(exc):
                    raise
                attempt = await self._pause("watch", attempt, exc)
            else:
                if not finished:  # a clean end before a terminal state: the server went away
                    attempt = await self._pause("watch", attempt, None)
            finally:
                call.cancel()

    async def delete_if_empty(self, conversation_id: str) -> None:
        """Delete a conversation that holds no message (a refused first message left it)."""
        await self._stub.DeleteConversation(
            pb.DeleteConversationRequest(conversation_id=conversation_id, only_if_empty=True),
            metadata=self._metadata,
            timeout=min(self._timeout, 5.0),
        )

    async def cancel_message(self, message_id: str) -> pb.Message:
        """Ask the server to stop a message's work."""
        response = await self._stub.CancelMessage(
            pb.CancelMessageRequest(message_id=message_id),
            metadata=self._metadata,
            timeout=min(self._timeout, 5.0),
        )
        return response.message

    async def get_message(self, message_id: str) -> pb.Message:
        """One message of the caller's."""
        response = await self._stub.GetMessage(
            pb.GetMessageRequest(message_id=message_id),
            metadata=self._metadata,
            timeout=self._timeout,
        )
        return response.message

    async def conversations(self, limit: int) -> list[pb.Conversation]:
        """Up to ``limit`` of the caller's conversations, most recently updated first."""
        found: list[pb.Conversation] = []
        token = ""
        while len(found) < limit:
            page = await self._stub.ListConversations(
                pb.ListConversationsRequest(
                    page_size=min(100, limit - len(found)), page_token=token
                ),
                metadata=self._metadata,
                timeout=self._timeout,
            )
            found.extend(page.conversations)
            token = page.next_page_token
            if not token:
                break
        return found[:limit]

    async def messages(self, conversation_id: str, limit: int) -> list[pb.Message]:
        """Up to ``limit`` messages of a conversation, oldest first."""
        found: list[pb.Message] = []
        token = ""
        while len(found) < limit:
            page = await self._stub.ListMessages(
                pb.ListMessagesRequest(
                    conversation_id=conversation_id,
                    page_size=min(100, limit - len(found)),
                    page_token=token,
                ),
                metadata=self._metadata,
                timeout=self._timeout,
            )
            found.extend(page.messages)
            token = page.next_page_token
            if not token:
                break
        return found[:limit]

    async def _pause(self, what: str, attempt: int, error: grpc.aio.AioRpcError | None) -> int:
        """Wait before the next attempt, or re-raise once the budget is spent."""
        attempt += 1
        if attempt > self._backoff.attempts:
            if error is not None:
                raise error
            raise ConnectionError(say("watch.streamEnded"))
        delay = self._backoff.delay(attempt)
        code = error.code().name if error is not None else "stream ended"
        self._on_retry(Retry(what, attempt, self._backoff.attempts, delay, code))
        await asyncio.sleep(delay)
        return attempt


@dataclass(frozen=True)
class SavedImage:
    """One image of a message and where it was saved (or why it was not)."""

    index: int
    image: pb.MessageImage
    path: Path | None = None
    error: str = ""


def file_names(message: pb.Message) -> list[str]:
    """``<message_id>-<angle or 1-based index>.<ext>`` for each image, unique within the message."""
    names: list[str] = []
    for index, image in enumerate(message.images, start=1):
        label = angle_name(image.angle) or str(index)
        ext = _EXTENSIONS.get(image.mime_type) or _suffix(image.image_url) or "png"
        name = f"{message.message_id}-{label}.{ext}"
        if name in names:
            name = f"{message.message_id}-{label}-{index}.{ext}"
        names.append(name)
    return names


def _suffix(url: str) -> str:
    suffix = Path(urlsplit(url).path).suffix.lstrip(".").lower()
    return {"jpeg": "jpg"}.get(suffix, suffix) if suffix in ("png", "jpg", "jpeg", "webp") else ""


async def download_images(
    message: pb.Message, out_dir: Path, http: httpx.AsyncClient
) -> list[SavedImage]:
    """Fetch every image of ``message`` into ``out_dir``; a failure is recorded, not raised."""
    if not message.images:
        return []
    try:
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        problem = say("download.cannotCreate", path=out_dir, reason=exc.strerror or exc)
        return [SavedImage(i, image, error=problem) for i, image in enumerate(message.images, 1)]

    async def fetch(index: int, image: pb.MessageImage, name: str) -> SavedImage:
        if urlsplit(image.image_url).scheme not in ("http", "https"):
            return SavedImage(
                index, image, error=say("download.notHttp", url=repr(image.image_url))
            )
        try:
            response = await http.get(image.image_url)
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            return SavedImage(index, image, error=say("download.status", status=status))
        except httpx.HTTPError as exc:  # the error's class names it; its text is httpx's own
            return SavedImage(index, image, error=say("download.failed", error=type(exc).__name__))
        path = out_dir / name
        try:
            await asyncio.to_thread(path.write_bytes, response.content)
        except OSError as exc:
            reason = exc.strerror or exc
            return SavedImage(
                index, image, error=say("download.cannotWrite", path=path, reason=reason)
            )
        return SavedImage(index, image, path)

    names = file_names(message)
    return list(
        await asyncio.gather(
            *(
                fetch(index, image, name)
                for index, (image, name) in enumerate(zip(message.images, names, strict=True), 1)
            )
        )
    )
