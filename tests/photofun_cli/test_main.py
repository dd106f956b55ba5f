"""The `photofun` command against a real gRPC server with a scripted ConversationService.

The servicer below stands in for the conversation service (it may not exist yet when the CLI
changes): it checks the bearer token with the real ``Authenticator``, goes through the real
error interceptor, and plays a scripted watch. Images are served by a real HTTP server.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp import web
from babel.numbers import format_decimal
from PIL import Image
from rich.console import Console

from mesh.auth import Authenticator, mint_token
from mesh.errors import FailedPrecondition, InvalidArgument, NotFound
from mesh.limits import MAX_PROMPT_CHARS
from mesh.ratelimit import Limit, RateLimiter
from mesh.server import ServiceBinding, bind
from mesh.settings import ServerSettings
from photofun.v1 import common_pb2, conversation_service_pb2_grpc
from photofun.v1 import conversation_service_pb2 as pb
from photofun_cli import words
from photofun_cli.client import SavedImage
from photofun_cli.main import build_parser, run
from photofun_cli.render import WatchView, summary
from photofun_cli.words import argparse_catalogue, catalogue
from tests.conftest import StartServer
from tests.http_servers import serve_app

SECRET = "cli-test-secret-at-least-32-bytes-long"  # PyJWT warns below 32
ANGLES = (common_pb2.ANGLE_FRONT, common_pb2.ANGLE_SIDE, common_pb2.ANGLE_REAR)
CLIO = "2019 Renault Clio blue hatchback, front side rear"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def script(message: pb.Message, media: str) -> list[pb.WatchMessageResponse]:
    """The changes a message goes through; its prompt picks the ending."""
    prompt = message.prompt
    steps = [(pb.MESSAGE_EVENT_SNAPSHOT, pb.Message())]
    if prompt == "hello":
        done = pb.Message(
            status=pb.MESSAGE_STATUS_DONE,
            intent=common_pb2.INTENT_CHAT,
            reply="Hi! Describe a picture.",
        )
        steps.append((pb.MESSAGE_EVENT_FINISHED, done))
    elif prompt == "cancel me":
        steps.append(
            (
                pb.MESSAGE_EVENT_FINISHED,
                pb.Message(
                    status=pb.MESSAGE_STATUS_CANCELLED,
                    failure=common_pb2.Failure(reason="CANCELLED_BY_USER", message="cancelled"),
                ),
            )
        )
    else:
        steps.append(
            (
                pb.MESSAGE_EVENT_ANALYZED,
                pb.Message(
                    intent=common_pb2.INTENT_GENERATE_ANGLES,
                    refined_prompt="A blue 2019 Renault Clio hatchback, studio light",
                    keywords=["renault", "clio", "blue"],
                    expected_image_count=3,
                ),
            )
        )
        made = 1 if prompt == "fail" else 3
        for index, angle in enumerate(ANGLES[:made]):
            name = common_pb2.Angle.Name(angle).removeprefix("ANGLE_").lower()
            missing = prompt == "lost image" and index == 1
            image = pb.MessageImage(
                image_url=f"{media}/media/{'gone' if missing else message.message_id}-{name}.png",
                angle=angle,
                seed=1000 + index,
                session_id="sess-7f3a",
                mime_type="image/png",
                provider="mock",
            )
            steps.append((pb.MESSAGE_EVENT_IMAGE_ADDED, pb.Message(images=[image])))
        end = pb.Message(status=pb.MESSAGE_STATUS_DONE, reply="Here are the three views.")
        if prompt == "fail":
            end = pb.Message(
                status=pb.MESSAGE_STATUS_FAILED,
                failure=common_pb2.Failure(
                    reason="PROVIDER_UNAVAILABLE", message="every image provider failed"
                ),
            )
        steps.append((pb.MESSAGE_EVENT_FINISHED, end))
    state = pb.Message()
    state.CopyFrom(message)
    out = []
    for number, (event, change) in enumerate(steps, start=1):
        state.MergeFrom(change)  # repeated fields append, like images arriving one by one
        if state.status != pb.MESSAGE_STATUS_PROCESSING:
            state.finish_time.FromSeconds(state.create_time.seconds + 12)
        snapshot = pb.Message()
        snapshot.CopyFrom(state)
        out.append(
            pb.WatchMessageResponse(event=event, message=snapshot, resume_token=f"v{number}")
        )
    return out


@dataclass
class FakeConversations(conversation_service_pb2_grpc.ConversationServiceServicer):
    """An in-memory ConversationService that plays ``script`` on WatchMessage."""

    media: str
    auth: Authenticator = field(default_factory=lambda: Authenticator(SECRET))
    conversations: dict[str, tuple[str, pb.Conversation]] = field(default_factory=dict)
    messages: dict[str, pb.Message] = field(default_factory=dict)
    sent: dict[str, pb.Message] = field(default_factory=dict)
    send_keys: list[str] = field(default_factory=list)
    requests: list[pb.SendMessageRequest] = field(default_factory=list)
    formats: list[int] = field(default_factory=list)
    watch_tokens: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    lose_first_send_reply: bool = False
    lose_first_create_reply: bool = False
    create_ids: list[str] = field(default_factory=list)
    created_by: dict[str, str] = field(default_factory=dict)
    watching: asyncio.Event = field(default_factory=asyncio.Event)
    sending: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    uploads: list[tuple[bytes, str]] = field(default_factory=list)
    # When set, SendMessage takes a token of the sender's "messages" bucket first, as the real
    # service's interceptor does (mesh.ratelimit on a real Redis).
    limiter: RateLimiter | None = None

    def add_conversation(self, owner: str, title: str) -> pb.Conversation:
        number = len(self.conversations) + 1
        conversation = pb.Conversation(conversation_id=f"{number:024x}", title=title)
        conversation.create_time.FromSeconds(1_700_000_000 + number * 60)
        conversation.update_time.CopyFrom(conversation.create_time)
        self.conversations[conversation.conversation_id] = (owner, conversation)
        return conversation

    def _own(self, context: Any, conversation_id: str) -> pb.Conversation:
        user = self.auth.user_of(context.invocation_metadata())
        owner, conversation = self.conversations.get(conversation_id, ("", pb.Conversation()))
        if owner != user:
            raise NotFound(f"conversation {conversation_id} not found")
        return conversation

    async def CreateConversation(
        self, request: pb.CreateConversationRequest, context: Any
    ) -> pb.CreateConversationResponse:
        user = self.auth.user_of(context.invocation_metadata())
        self.create_ids.append(request.idempotency_key)
        known = [
            c
            for c_id, (owner, c) in self.conversations.items()
            if owner == user and self.created_by.get(c_id) == request.idempotency_key
        ]
        if known:  # the server's AIP-155 behaviour: the first conversation again
            return pb.CreateConversationResponse(conversation=known[0])
        conversation = self.add_conversation(user, request.title)
        self.created_by[conversation.conversation_id] = request.idempotency_key
        if self.lose_first_create_reply:
            self.lose_first_create_reply = False
            await context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset by peer")
        return pb.CreateConversationResponse(conversation=conversation)

    async def GetConversation(
        self, request: pb.GetConversationRequest, context: Any
    ) -> pb.GetConversationResponse:
        return pb.GetConversationResponse(conversation=self._own(context, request.conversation_id))

    async def DeleteConversation(
        self, request: pb.DeleteConversationRequest, context: Any
    ) -> pb.DeleteConversationResponse:
        self._own(context, request.conversation_id)
        del self.conversations[request.conversation_id]
        return pb.DeleteConversationResponse()

    async def GetMessage(
        self, request: pb.GetMessageRequest, context: Any
    ) -> pb.GetMessageResponse:
        message = self.messages[request.message_id]
        self._own(context, message.conversation_id)
        return pb.GetMessageResponse(message=message)

    async def ListConversations(
        self, request: pb.ListConversationsRequest, context: Any
    ) -> pb.ListConversationsResponse:
        user = self.auth.user_of(context.invocation_metadata())
        mine = [c for owner, c in self.conversations.values() if owner == user]
        mine.sort(key=lambda c: c.update_time.seconds, reverse=True)
        start, size = int(request.page_token or 0), min(request.page_size or 20, 2)
        more = start + size < len(mine)
        return pb.ListConversationsResponse(
            conversations=mine[start : start + size],
            next_page_token=str(start + size) if more else "",
        )

    async def SendMessage(
        self, request: pb.SendMessageRequest, context: Any
    ) -> pb.SendMessageResponse:
        conversation = self._own(context, request.conversation_id)
        if self.limiter is not None:
            await self.limiter.take("messages", self.auth.user_of(context.invocation_metadata()))
        if len(request.prompt) > MAX_PROMPT_CHARS:  # as the real service refuses it
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "prompt: must be at most 2000")
        self.requests.append(request)
        self.send_keys.append(request.idempotency_key)
        self.formats.append(request.format)
        known = [m for m in self.messages.values() if m.request_id == request.idempotency_key]
        if known:
            return pb.SendMessageResponse(message=known[0])
        message = pb.Message(
            message_id=f"{len(self.messages) + 0xABC:024x}",
            conversation_id=conversation.conversation_id,
            prompt=request.prompt,
            style=request.style,
            input_image_url=request.image_url,
            status=pb.MESSAGE_STATUS_PROCESSING,
            request_id=request.idempotency_key,  # lets a retry find it, as a unique index would
        )
        message.create_time.FromSeconds(1_700_000_000)
        self.messages[message.message_id] = message
        self.sent[message.message_id] = message
        conversation.message_count += 1
        if request.prompt == "slow reply":  # stored, but the reply is late
            self.sending.set()
            await asyncio.wait_for(self.released.wait(), 60)
        if self.lose_first_send_reply:
            self.lose_first_send_reply = False
            await context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset by peer")
        return pb.SendMessageResponse(message=message)

    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: Any
    ) -> pb.ListMessagesResponse:
        self._own(context, request.conversation_id)
        return pb.ListMessagesResponse(
            messages=[
                m for m in self.messages.values() if m.conversation_id == request.conversation_id
            ]
        )

    async def WatchMessage(
        self, request: pb.WatchMessageRequest, context: Any
    ) -> AsyncIterator[pb.WatchMessageResponse]:
        message = self.sent[request.message_id]
        self._own(context, message.conversation_id)
        self.watch_tokens.append(request.resume_token)
        changes = script(message, self.media)
        seen = int(request.resume_token.removeprefix("v") or 0)
        for response in changes[seen:]:
            if message.prompt == "hang" and response.event == pb.MESSAGE_EVENT_IMAGE_ADDED:
                self.watching.set()
                await asyncio.wait_for(self.released.wait(), 60)
                return
            self.messages[message.message_id] = response.message
            yield response
            first_call = len(self.watch_tokens) == 1
            if message.prompt == "drop" and response.resume_token == "v4" and first_call:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset by peer")

    async def UploadImage(
        self, request: pb.UploadImageRequest, context: Any
    ) -> pb.UploadImageResponse:
        self.auth.user_of(context.invocation_metadata())
        if not request.data.startswith((PNG[:8], b"\xff\xd8\xff")):
            raise InvalidArgument("data", "the bytes are not an image", reason="NOT_AN_IMAGE")
        self.uploads.append((request.data, request.filename))
        url = f"{self.media}/media/upload-{len(self.uploads)}.png"
        return pb.UploadImageResponse(image_url=url, mime_type="image/png", width=4, height=3)

    async def WatchConversation(
        self, request: pb.WatchConversationRequest, context: Any
    ) -> AsyncIterator[pb.WatchConversationResponse]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "the CLI does not follow lists")
        yield pb.WatchConversationResponse()  # never reached: abort raises

    async def WatchConversations(
        self, request: pb.WatchConversationsRequest, context: Any
    ) -> AsyncIterator[pb.WatchConversationsResponse]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "the CLI does not follow lists")
        yield pb.WatchConversationsResponse()  # never reached: abort raises

    async def CancelMessage(
        self, request: pb.CancelMessageRequest, context: Any
    ) -> pb.CancelMessageResponse:
        message = self.messages[request.message_id]
        self._own(context, message.conversation_id)
        if message.status != pb.MESSAGE_STATUS_PROCESSING:
            raise FailedPrecondition("already finished", reason="MESSAGE_FINISHED")
        self.cancelled.append(request.message_id)
        message.status = pb.MESSAGE_STATUS_CANCELLED
        message.failure.CopyFrom(common_pb2.Failure(reason="CANCELLED_BY_USER", message="bye"))
        self.released.set()
        return pb.CancelMessageResponse(message=message)


@dataclass
class Stack:
    """The fake service, its address, and what the media server was asked for."""

    service: FakeConversations
    address: str
    fetched: list[str]


@pytest.fixture
async def stack(start_server: StartServer) -> AsyncIterator[Stack]:
    fetched: list[str] = []

    async def media(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        fetched.append(name)
        if name.startswith("gone"):
            raise web.HTTPNotFound()
        return web.Response(body=PNG + name.encode(), content_type="image/png")

    app = web.Application()
    app.router.add_get("/media/{name}", media)
    async with serve_app(app) as media_url:
        service = FakeConversations(media_url)

        async def build(settings: Any, exits: contextlib.AsyncExitStack) -> list[ServiceBinding]:
            return [
                bind(
                    service,
                    conversation_service_pb2_grpc.add_ConversationServiceServicer_to_server,
                    "photofun.v1.ConversationService",
                )
            ]

        server = await start_server(build, ServerSettings(jwt_secret=SECRET))
        yield Stack(service, server.address, fetched)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The locale variables too: what the command prints is English unless a test says otherwise.
    for name in ("PHOTOFUN_TOKEN", "PHOTOFUN_SERVER", "JWT_SECRET", "USER", *LOCALE_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is read


LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


async def photofun(*argv: str) -> Result:
    """Run the command in a thread (it runs its own event loop), capturing both consoles."""
    out, err = StringIO(), StringIO()
    code = await asyncio.to_thread(
        run, list(argv), out=Console(file=out, width=120), err=Console(file=err, width=120)
    )
    print(out.getvalue(), err.getvalue(), sep="")  # shown with -s or on failure
    return Result(code, out.getvalue(), err.getvalue())


def pngs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png"))


def read(path: Path) -> bytes:
    return path.read_bytes()


def chat(stack: Stack, prompt: str, out: Path, *extra: str, user: str = "alice") -> list[str]:
    token = mint_token(SECRET, user)
    return ["chat", prompt, "--server", stack.address, "--token", token, "--out", str(out), *extra]


async def test_chat_watches_three_angles_and_saves_them(stack: Stack, tmp_path: Path) -> None:
    result = await photofun(*chat(stack, CLIO, tmp_path / "out", "--style", "anime"))

    assert result.code == 0, result.err
    (message,) = stack.service.messages.values()
    assert message.status == pb.MESSAGE_STATUS_DONE
    assert message.style == "anime"
    assert len(message.request_id) == 32  # the idempotency key went along
    assert stack.service.watch_tokens == [""]
    saved = [p.name for p in pngs(tmp_path / "out")]
    assert saved == [f"{message.message_id}-{a}.png" for a in ("front", "rear", "side")]
    assert read(tmp_path / "out" / saved[0]).startswith(PNG)
    for text in ("generateAngles", "A blue 2019 Renault Clio hatchback", "sess-7f3a", "1002"):
        assert text in result.out
    assert "Here are the three views." in result.out
    assert "✓ DONE in 12.0s" in result.out
    (conversation,) = (c for _, c in stack.service.conversations.values())
    assert conversation.title == CLIO


async def test_a_dropped_watch_resumes_from_the_last_token(stack: Stack, tmp_path: Path) -> None:
    result = await photofun(*chat(stack, "drop", tmp_path))

    assert result.code == 0, result.err
    assert stack.service.watch_tokens == ["", "v4"]
    assert "connection lost (UNAVAILABLE); retrying in" in result.out
    assert len(stack.fetched) == 3
    assert len(pngs(tmp_path)) == 3


async def test_a_lost_send_reply_is_retried_with_the_same_key(stack: Stack, tmp_path: Path) -> None:
    stack.service.lose_first_send_reply = True

    result = await photofun(*chat(stack, CLIO, tmp_path))

    assert result.code == 0, result.err
    first, second = stack.service.send_keys
    assert first
    assert second == first
    assert len(stack.service.messages) == 1
    assert "sending the message failed (UNAVAILABLE)" in result.out


async def test_a_lost_create_reply_is_retried_with_the_same_request_id(
    stack: Stack, tmp_path: Path
) -> None:
    stack.service.lose_first_create_reply = True

    result = await photofun(*chat(stack, CLIO, tmp_path))

    assert result.code == 0, result.err
    first, second = stack.service.create_ids
    assert len(first) == 32
    assert second == first
    assert len(stack.service.conversations) == 1
    assert "creating the conversation failed (UNAVAILABLE)" in result.out


async def test_a_failed_message_prints_its_reason_and_exits_1(stack: Stack, tmp_path: Path) -> None:
    result = await photofun(*chat(stack, "fail", tmp_path))

    assert result.code == 1
    assert "✗ FAILED in 12.0s · PROVIDER_UNAVAILABLE: every image provider failed" in result.out
    # the bars that never filled say so
    assert any("view 2/3" in line and "failed" in line for line in result.out.splitlines())
    assert len(pngs(tmp_path)) == 1  # what did arrive is kept


async def test_a_cancelled_message_exits_2(stack: Stack, tmp_path: Path) -> None:
    result = await photofun(*chat(stack, "cancel me", tmp_path))

    assert result.code == 2
    assert "CANCELLED_BY_USER: cancelled" in result.out


async def test_an_image_that_cannot_be_fetched_fails_the_command(
    stack: Stack, tmp_path: Path
) -> None:
    result = await photofun(*chat(stack, "lost image", tmp_path))

    assert result.code == 1
    assert "not saved: the server answered HTTP 404" in result.out
    assert "2 images saved" in result.out
    assert "1 not saved" in " ".join(result.out.split())  # however the console wrapped it


async def test_a_chat_reply_has_no_images(stack: Stack, tmp_path: Path) -> None:
    result = await photofun(*chat(stack, "hello", tmp_path))

    assert result.code == 0, result.err
    assert "Hi! Describe a picture." in result.out
    assert "chat" in result.out
    assert not pngs(tmp_path)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-a-jwt", "INVALID_TOKEN"),
        (mint_token("another-secret-that-is-32-bytes-long", "alice"), "INVALID_TOKEN"),
    ],
)
async def test_a_rejected_token_is_explained_without_a_traceback(
    stack: Stack, tmp_path: Path, token: str, reason: str
) -> None:
    argv = ["chat", CLIO, "--server", stack.address, "--token", token, "--out", str(tmp_path)]

    result = await photofun(*argv)

    assert result.code == 1
    assert f"error: UNAUTHENTICATED ({reason}): the token is not valid" in result.err
    assert "PHOTOFUN_TOKEN" in result.err
    assert "Traceback" not in result.err + result.out


async def test_a_refused_first_message_leaves_no_empty_conversation(
    stack: Stack, tmp_path: Path
) -> None:
    result = await photofun(*chat(stack, "x" * (MAX_PROMPT_CHARS + 1), tmp_path))

    assert result.code == 1
    assert "INVALID_ARGUMENT" in result.err
    assert not stack.service.conversations  # the one made for it is gone again

    mine = stack.service.add_conversation("alice", "mine")
    again = await photofun(
        *chat(stack, "x" * (MAX_PROMPT_CHARS + 1), tmp_path, "--conversation", mine.conversation_id)
    )
    assert again.code == 1
    assert mine.conversation_id in stack.service.conversations  # a conversation given stays


async def test_someone_elses_conversation_is_not_found(stack: Stack, tmp_path: Path) -> None:
    theirs = stack.service.add_conversation("bob", "bob's")

    result = await photofun(*chat(stack, CLIO, tmp_path, "--conversation", theirs.conversation_id))

    assert result.code == 1
    assert "error: NOT_FOUND: conversation" in result.err
    assert "request id" in result.err


async def test_json_output_is_one_document(stack: Stack, tmp_path: Path) -> None:
    result = await photofun(*chat(stack, CLIO, tmp_path, "--json", "--format", "webp"))

    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["intent"] == "generateAngles"
    message = document["message"]
    assert message["status"] == "MESSAGE_STATUS_DONE"
    assert [i["angle"] for i in message["images"]] == ["ANGLE_FRONT", "ANGLE_SIDE", "ANGLE_REAR"]
    assert [f["angle"] for f in document["files"]] == ["front", "side", "rear"]
    assert stack.service.formats == [common_pb2.IMAGE_FORMAT_WEBP]
    # the extension follows the MIME type the server reports, not what was asked for
    assert [Path(f["path"]).name for f in document["files"]] == [
        f"{message['messageId']}-{angle}.png" for angle in ("front", "side", "rear")
    ]
    assert len(pngs(tmp_path)) == 3


async def test_without_a_token_a_dev_token_is_minted(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("PHOTOFUN_SERVER", stack.address)

    result = await photofun("chat", "hello", "--user", "carol", "--out", str(tmp_path))

    assert result.code == 0, result.err
    assert "no PHOTOFUN_TOKEN set: using a dev token for user 'carol'" in result.out
    assert [owner for owner, _ in stack.service.conversations.values()] == ["carol"]


async def test_token_prints_a_token_the_server_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", SECRET)

    result = await photofun("token", "--user", "dave")

    assert result.code == 0
    assert Authenticator(SECRET).user_of([("authorization", f"Bearer {result.out.strip()}")]) == (
        "dave"
    )
    assert "dev token for user 'dave'" in result.err


async def test_conversations_pages_through_newest_first(stack: Stack) -> None:
    for title in ("oldest", "middle", "newest"):
        stack.service.add_conversation("alice", title)
    stack.service.add_conversation("bob", "not yours")
    token = mint_token(SECRET, "alice")

    result = await photofun("conversations", "--server", stack.address, "--token", token)

    assert result.code == 0, result.err
    assert "not yours" not in result.out
    assert result.out.index("newest") < result.out.index("middle") < result.out.index("oldest")


async def test_messages_lists_what_was_sent(stack: Stack, tmp_path: Path) -> None:
    await photofun(*chat(stack, CLIO, tmp_path))
    await photofun(*chat(stack, "fail", tmp_path, "--conversation", f"{1:024x}"))
    token = mint_token(SECRET, "alice")

    result = await photofun("messages", f"{1:024x}", "--server", stack.address, "--token", token)

    assert result.code == 0, result.err
    assert "DONE" in result.out
    assert "3/3" in result.out
    assert "PROVIDER_UNAVAILABLE" in result.out


@pytest.mark.parametrize(
    ("prompt", "when"),
    [("hang", "while it watches"), ("slow reply", "before SendMessage answered")],
)
async def test_ctrl_c_cancels_the_message_and_exits_130(
    stack: Stack, tmp_path: Path, prompt: str, when: str
) -> None:
    argv = chat(stack, prompt, tmp_path)
    reached = stack.service.watching if when == "while it watches" else stack.service.sending
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "photofun_cli.main",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.wait_for(reached.wait(), 60)
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    print(out.decode(), err.decode(), sep="")
    assert process.returncode == 130, err.decode()
    (message,) = stack.service.messages.values()
    assert stack.service.cancelled == [message.message_id]
    assert f"interrupted: cancelling message {message.message_id}" in err.decode()
    assert "CANCELLED" in err.decode()


def render(renderable: Any) -> str:
    console = Console(file=StringIO(), width=120)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def test_watch_view_labels_bars_with_angles_as_they_arrive() -> None:
    message = pb.Message(message_id=f"{1:024x}", prompt=CLIO, status=pb.MESSAGE_STATUS_PROCESSING)
    changes = script(message, "http://media")
    view = WatchView()

    view.update(changes[0])
    assert "analysing the prompt" in render(view)
    view.update(changes[1])
    analysed = render(view)
    assert "analysed: Several angles of one subject (generateAngles) · 3 images" in analysed
    assert "view 1/3" in analysed
    assert "view 3/3" in analysed
    for change in changes[2:4]:
        view.update(change)
    two = render(view)
    assert "front" in two
    assert "side" in two
    assert "view 3/3" in two
    assert "seed 1001 · mock" in two


def test_a_resumed_stream_that_merges_changes_still_fills_every_bar() -> None:
    message = pb.Message(message_id=f"{1:024x}", prompt=CLIO, status=pb.MESSAGE_STATUS_PROCESSING)
    changes = script(message, "http://media")
    view = WatchView()

    view.update(changes[0])
    view.update(changes[-1])  # a reconnect after the snapshot can jump straight to the end

    shown = render(view)
    assert all(angle in shown for angle in ("front", "side", "rear"))
    assert "view" not in shown
    assert "✓ DONE" in shown


def test_summary_of_done_message_has_one_row_per_image(tmp_path: Path) -> None:
    message = pb.Message(message_id=f"{1:024x}", prompt=CLIO, status=pb.MESSAGE_STATUS_PROCESSING)
    final = script(message, "http://media").pop().message
    saved: Sequence[SavedImage] = [
        SavedImage(i, image, tmp_path / f"{i}.png") for i, image in enumerate(final.images, 1)
    ]

    shown = render(summary(final, saved))
    print(shown)

    for angle, seed in (("front", 1000), ("side", 1001), ("rear", 1002)):
        assert any(angle in line and str(seed) in line for line in shown.splitlines())
    assert "3 images saved to" in shown


def test_summary_of_an_edit_says_what_was_done_and_leaves_out_empty_columns(
    tmp_path: Path,
) -> None:
    edited = pb.MessageImage(
        image_url="http://media/media/edited.png", mime_type="image/png", provider="mock"
    )
    final = pb.Message(
        message_id=f"{2:024x}",
        prompt="make it anime style",
        status=pb.MESSAGE_STATUS_DONE,
        intent=common_pb2.INTENT_STYLE_TRANSFER,
        refined_prompt="anime style",
        images=[edited],
    )

    shown = render(summary(final, [SavedImage(1, edited, tmp_path / "1.png")]))

    assert "Restyle an image (styleTransfer)" in shown
    header = next(line for line in shown.splitlines() if "saved as" in line)
    for empty in ("angle", "seed", "session"):
        assert empty not in header
    assert "reply" not in shown  # nothing to say: no row


async def test_chat_uploads_a_local_image_and_sends_its_url(stack: Stack, tmp_path: Path) -> None:
    photo = tmp_path / "holiday.png"
    photo.write_bytes(PNG + b"photo")

    result = await photofun(*chat(stack, "hello", tmp_path / "out", "--image", str(photo)))

    assert result.code == 0, result.err
    assert stack.service.uploads == [(PNG + b"photo", "holiday.png")]
    (message,) = stack.service.messages.values()
    assert message.input_image_url == f"{stack.service.media}/media/upload-1.png"
    assert "uploaded holiday.png (4×3)" in result.out


async def test_chat_refuses_an_unreadable_or_rejected_image(stack: Stack, tmp_path: Path) -> None:
    missing = await photofun(*chat(stack, "hello", tmp_path, "--image", str(tmp_path / "no.png")))
    assert missing.code == 1
    assert "cannot read" in missing.err
    assert "No such file" in missing.err

    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    refused = await photofun(*chat(stack, "hello", tmp_path, "--image", str(text)))
    assert refused.code == 1
    assert "the bytes are not an image" in refused.err
    assert not stack.service.messages  # nothing was sent


async def test_chat_scales_a_picture_over_the_upload_limit(stack: Stack, tmp_path: Path) -> None:
    photo = tmp_path / "IMG_0042.png"
    Image.effect_noise((2600, 1200), 70).convert("RGB").save(photo)  # noise: a large PNG
    assert photo.stat().st_size > 3 * 1024 * 1024

    result = await photofun(*chat(stack, "hello", tmp_path / "out", "--image", str(photo)))

    assert result.code == 0, result.err
    ((data, filename),) = stack.service.uploads
    assert filename == "IMG_0042.jpg"
    assert len(data) <= 3 * 1024 * 1024
    with Image.open(io.BytesIO(data)) as sent:
        assert (sent.format, sent.size) == ("JPEG", (2048, 945))
    assert "over the 3 MiB upload limit: sending it as a 2048×945 JPEG" in result.out


async def test_chat_refuses_a_large_file_that_is_not_a_picture(
    stack: Stack, tmp_path: Path
) -> None:
    movie = tmp_path / "clip.mov"
    movie.write_bytes(bytes(4 * 1024 * 1024))

    result = await photofun(*chat(stack, "hello", tmp_path, "--image", str(movie)))

    assert result.code == 1
    assert "clip.mov is over the 3 MiB upload limit and not a picture" in result.err
    assert not stack.service.uploads


async def test_chat_continues_a_conversation_with_a_picked_result_seed_and_variation(
    stack: Stack, tmp_path: Path
) -> None:
    first = await photofun(*chat(stack, CLIO, tmp_path / "a"))
    assert first.code == 0, first.err
    (sent,) = stack.service.messages.values()
    conversation = sent.conversation_id

    again = await photofun(
        *chat(
            stack,
            "",
            tmp_path / "b",
            "--conversation",
            conversation,
            "--from",
            f"{sent.message_id}:2",
            "--variation",
            "--seed",
            "4294967295",
        )
    )
    assert again.code == 0, again.err
    request = stack.service.requests[-1]
    assert request.conversation_id == conversation
    assert request.reference.message_id == sent.message_id
    assert request.reference.image_index == 2
    assert request.variation
    assert request.seed == 4294967295
    assert request.prompt  # a variation needs no words; one is sent for the record


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--variation"], "continue a --conversation"),
        (["--conversation", "c1", "--from", "m1:x"], "MESSAGE:INDEX"),
    ],
)
async def test_chat_refuses_follow_up_options_that_cannot_work(
    stack: Stack, tmp_path: Path, extra: list[str], says: str
) -> None:
    result = await photofun(*chat(stack, CLIO, tmp_path, *extra))
    assert result.code == 1
    assert says in result.err
    assert not stack.service.requests  # nothing was sent


@pytest.mark.parametrize("seed", ["-1", "4294967296", "seven"])
def test_a_seed_outside_32_bits_is_refused_before_anything_runs(
    seed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["chat", "a cat", "--seed", seed])
    assert exited.value.code == 2
    assert "seed" in capsys.readouterr().err


async def test_without_any_secret_there_is_no_public_default_to_sign_with(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOTOFUN_SERVER", stack.address)

    result = await photofun("chat", "hello", "--out", str(tmp_path))

    assert result.code == 1
    assert "error: no token: set PHOTOFUN_TOKEN" in result.err
    assert "Traceback" not in result.err + result.out
    assert not stack.service.conversations


async def test_the_secret_make_run_keeps_signs_dev_tokens(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "jwt-secret").write_text(SECRET + "\n")  # what `make run` writes
    monkeypatch.setenv("PHOTOFUN_SERVER", stack.address)

    result = await photofun("chat", "hello", "--user", "erin", "--out", str(tmp_path))

    assert result.code == 0, result.err
    assert "var/jwt-secret" in result.out
    assert [owner for owner, _ in stack.service.conversations.values()] == ["erin"]


async def test_lang_prints_in_vietnamese_and_sends_the_prompts_language(
    stack: Stack, tmp_path: Path
) -> None:
    result = await photofun(*chat(stack, "hello", tmp_path), "--lang", "vi")

    assert result.code == 0, result.err
    for key in ("summary.intent", "summary.reply", "summary.requestId"):
        assert catalogue.text(key, "vi") in result.out
    assert catalogue.text("intent.chat", "vi") in result.out
    assert "request id" not in result.out
    (sent,) = stack.service.requests
    assert sent.lang == "vi"  # --lang is the prompt's language too


async def test_the_locale_variables_pick_the_language(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "uk_UA.UTF-8")
    token = mint_token(SECRET, "nobody-yet")
    result = await photofun("conversations", "--server", stack.address, "--token", token)

    assert result.code == 0, result.err
    assert catalogue.text("list.noConversations", "uk").split(";")[0] in result.out
    # --lang wins over the environment.
    again = await photofun(
        "conversations", "--server", stack.address, "--token", token, "--lang", "en"
    )
    assert "no conversations yet" in again.out


async def test_an_error_in_ukrainian_keeps_the_status_code(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LC_ALL", "uk_UA.UTF-8")
    argv = ["chat", "hello", "--server", stack.address, "--token", "bad", "--out", str(tmp_path)]
    result = await photofun(*argv)

    assert result.code == 1
    assert result.err.startswith(catalogue.text("error.prefix", "uk") + "UNAUTHENTICATED")
    assert "порада:" in result.err


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({"LANG": "vi_VN.UTF-8"}, "vi"),
        ({"LANG": "uk_UA.UTF-8", "LC_ALL": "C"}, "en"),  # LC_ALL comes first, and says C
        ({"LANGUAGE": "de:uk", "LANG": "en_US.UTF-8"}, "uk"),  # gettext's list of wishes
        ({"LC_MESSAGES": "vi"}, "vi"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_language_from_the_environment(env: dict[str, str], lang: str) -> None:
    assert words.from_environment(env) == lang


def flat(text: str) -> str:
    """`text` with its line breaks and runs of spaces as one space (argparse wraps help)."""
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("argv", "env", "lang"),
    [
        (["--lang", "vi", "chat", "--help"], {}, "vi"),
        (["chat", "--lang=uk", "--help"], {"LANG": "vi_VN.UTF-8"}, "uk"),  # --lang wins
        (["chat", "--help"], {"LANG": "uk_UA.UTF-8"}, "uk"),
        (["chat", "--help"], {}, "en"),
    ],
)
def test_help_is_in_the_language_of_the_command(
    argv: list[str],
    env: dict[str, str],
    lang: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        run(argv)
    assert exited.value.code == 0
    out = flat(capsys.readouterr().out)
    # Our help texts, and argparse's own words around them.
    for key in ("help.prompt", "help.variation", "help.seed", "help.lang"):
        assert flat(catalogue.text(key, lang)) in out, key
    assert out.startswith(argparse_catalogue.text("usage: ", lang) + "photofun chat")
    for word in ("options", "positional arguments", "show this help message and exit"):
        assert argparse_catalogue.text(word, lang) + ("" if word.startswith("show") else ":") in out
    if lang != "en":
        assert flat(catalogue.text("help.prompt", "en")) not in out
        assert "options:" not in out


def test_the_verbs_are_listed_in_the_language_of_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LANGUAGE", "vi")
    with pytest.raises(SystemExit):
        run(["--help"])
    out = flat(capsys.readouterr().out)
    for key in ("help.description", "help.chat", "help.conversations", "help.providers"):
        assert catalogue.text(key, "vi") in out, key


@pytest.mark.parametrize("lang", ["uk", "vi"])
def test_argparse_errors_are_in_the_language_of_the_command(
    lang: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LANG", f"{lang}.UTF-8")
    with pytest.raises(SystemExit) as exited:
        run(["chat", "a cat", "--format", "gif"])
    assert exited.value.code == 2  # argparse's status for a bad command line, kept
    err = flat(capsys.readouterr().err)
    said = argparse_catalogue.text("%(prog)s: error: %(message)s\n", lang)
    assert said.split("%(message)s")[0] % {"prog": "photofun chat"} in err
    argument = argparse_catalogue.text("argument %(argument_name)s: %(message)s", lang)
    assert argument.split("%(message)s")[0] % {"argument_name": "--format"} in err
    assert (
        argparse_catalogue.text("invalid choice: %(value)r (choose from %(choices)s)", lang).split(
            "%"
        )[0]
        in err
    )
    assert "error:" not in err
    assert "invalid choice" not in err
    with pytest.raises(SystemExit):
        run(["chat"] + ["--json"] * 2 + ["--out"])  # a value missing
    assert argparse_catalogue.text("expected one argument", lang) in capsys.readouterr().err


def test_a_trace_with_no_spans_says_so_in_the_language_of_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "uk_UA.UTF-8")
    traces = tmp_path / "traces.jsonl"
    traces.write_text("")
    err = StringIO()
    code = run(["trace", "0" * 32, "--traces", str(traces)], err=Console(file=err, width=300))
    assert code == 1
    said = catalogue.text("trace.noSpans", "uk", trace="0" * 32, file=traces)
    assert err.getvalue().strip() == said


async def test_a_picture_over_the_limit_is_noted_in_ukrainian(stack: Stack, tmp_path: Path) -> None:
    photo = tmp_path / "IMG_0042.png"
    Image.effect_noise((2600, 1200), 70).convert("RGB").save(photo)

    result = await photofun(
        *chat(stack, "hello", tmp_path / "out", "--image", str(photo), "--lang", "uk")
    )

    assert result.code == 0, result.err
    ((data, _),) = stack.service.uploads
    note = catalogue.text(
        "upload.scaled",
        "uk",
        name="IMG_0042.png",
        size=format_decimal(photo.stat().st_size / 2**20, format="0.0", locale="uk"),
        width=2048,
        height=945,
        sent=format_decimal(len(data) / 2**20, format="0.0", locale="uk"),
        before_width=2600,
        before_height=1200,
    )
    assert "," in note  # Ukrainian writes a decimal comma
    assert flat(note) in flat(result.out)


async def test_a_large_file_that_is_not_a_picture_is_refused_in_vietnamese(
    stack: Stack, tmp_path: Path
) -> None:
    movie = tmp_path / "clip.mov"
    movie.write_bytes(bytes(4 * 1024 * 1024))

    result = await photofun(*chat(stack, "hello", tmp_path, "--image", str(movie), "--lang", "vi"))

    assert result.code == 1
    assert flat(catalogue.text("upload.notPicture", "vi", name="clip.mov")) in flat(result.err)


async def test_a_failed_download_and_a_retry_are_said_in_vietnamese(
    stack: Stack, tmp_path: Path
) -> None:
    stack.service.lose_first_send_reply = True
    result = await photofun(*chat(stack, "lost image", tmp_path, "--lang", "vi"))

    assert result.code == 1
    out = flat(result.out)
    assert flat(catalogue.text("download.status", "vi", status=404)) in out
    what = catalogue.text("retry.failed", "vi", what=catalogue.text("call.send", "vi"))
    assert f"{what} (UNAVAILABLE)" in out
    assert "HTTP 404" in out
    assert "not saved" not in out


@pytest.mark.parametrize(("lang", "said"), [("en", "1.7"), ("vi", "1,7"), ("uk", "1,7")])
def test_decimals_are_written_as_the_language_writes_them(lang: str, said: str) -> None:
    words.use(lang)
    try:
        assert words.number(1.71) == said
        assert words.number(1234.5) == {"en": "1,234.5", "vi": "1.234,5", "uk": "1\xa0234,5"}[lang]
    finally:
        words.use("en")


@pytest.mark.parametrize("lang", ["uk", "vi"])
async def test_a_refused_picture_is_worded_by_its_reason_in_the_language_of_the_command(
    stack: Stack, tmp_path: Path, lang: str
) -> None:
    damaged = tmp_path / "photo.png"
    damaged.write_text("not a picture")  # the stand-in server refuses it: NOT_AN_IMAGE
    refused = await photofun(
        *chat(stack, "hello", tmp_path, "--image", str(damaged), "--lang", lang)
    )

    assert refused.code == 1
    err = flat(refused.err)
    assert err.startswith(catalogue.text("error.prefix", lang) + "INVALID_ARGUMENT (NOT_AN_IMAGE)")
    assert flat(catalogue.text("reason.NOT_AN_IMAGE", lang)) in err
    assert "the bytes are not an image" not in err  # the server's English
    assert not stack.service.messages


@pytest.mark.parametrize("lang", ["en", "uk", "vi"])
async def test_a_rate_limited_message_is_worded_with_its_wait_in_the_language_of_the_command(
    stack: Stack, tmp_path: Path, redis_url: str, lang: str
) -> None:
    """The real limiter (mesh.ratelimit, on a real Redis) refuses the second message of a
    bucket of one a minute: RESOURCE_EXHAUSTED RATE_LIMITED with a RetryInfo of about 60 s."""
    limiter = RateLimiter(
        redis_url, {"messages": Limit(per_minute=1, burst=1)}, prefix=f"cli-test:{lang}"
    )
    stack.service.limiter = limiter
    try:
        first = await photofun(*chat(stack, "hello", tmp_path, "--lang", lang))
        refused = await photofun(*chat(stack, "hello again", tmp_path, "--lang", lang))
    finally:
        stack.service.limiter = None
        await limiter.aclose()

    assert first.code == 0, first.err
    assert refused.code == 1
    err = flat(refused.err)
    prefix = catalogue.text("error.prefix", lang) + "RESOURCE_EXHAUSTED (RATE_LIMITED): "
    assert err.startswith(prefix)
    said = err.removeprefix(prefix)
    if lang == "en":  # the server's own words, which name the limit and the wait
        wait = re.match(
            r"too many requests: the limit for messages is 1 a minute .*"
            r"; try again in (\d+) s",
            said,
        )
        assert wait is not None
        assert 55 <= int(wait.group(1)) <= 60  # one token a minute, just taken
    else:
        words = catalogue.text("reason.RATE_LIMITED", lang)
        worded = [
            flat(words + catalogue.text("error.retryIn", lang, seconds=seconds))
            for seconds in range(55, 61)
        ]
        assert any(said.startswith(w) for w in worded), said
        assert "too many" not in said
