"""The pipeline, the sweeper and CancelMessage say what they say in the language of the message.

Real parts: the MongoDB-wire server, the prompt service (local analyser), the image service and
the Media stand-in of ``conftest.pipeline``; a prompt service that is not there is a port
nothing listens on. Failures of views and refusals come from a real gRPC image service scripted
to fail them (``Scripted``), since the real one only does when a provider breaks; what it says
in English must not reach the user, who gets the reason in their language.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from PIL import Image

from conversation_svc.model import Conversation, Message, NewMessage, Status
from conversation_svc.pipeline import Limits, Pipeline
from conversation_svc.runtime import mesh_channel
from conversation_svc.store import Store, now
from conversation_svc.sweeper import sweep_once
from conversation_svc.words import view_name
from mesh.errors import InvalidArgument
from mesh.i18n import replies
from mesh.media import MediaClient
from mesh.retry import Backoff
from mesh.server import ServiceBinding, bind
from mesh.settings import ServerSettings
from mesh.vocabulary import angle_name
from photofun.v1 import common_pb2, image_service_pb2, image_service_pb2_grpc
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import prompt_service_pb2_grpc as prompt_grpc
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import StartServer
from tests.conversation_svc.service import auth, scripted_image_service, worker_pipeline

if TYPE_CHECKING:
    from tests.conversation_svc.service import Stub

Run = Callable[..., Awaitable[Message]]
# What the scripted image service says, in English, of a view it fails or a call it refuses:
# none of it may reach a Vietnamese or Ukrainian user.
UPSTREAM_WORDS = "every provider failed this view"
REFUSAL_WORDS = "subject.description: the reference picture is larger than 20 MB"
CLIO = {
    "vi": "Renault Clio 2019 màu xanh, nhìn từ phía trước, bên hông và phía sau",
    "uk": "Renault Clio 2019 синій, спереду, збоку і ззаду",
    "en": "2019 Renault Clio blue hatchback, front side rear",
}


@pytest.fixture
async def conversation(store: Store) -> Conversation:
    return await store.create_conversation("alice", "")


def new(prompt: str, **fields: Any) -> NewMessage:
    deadline = fields.pop("deadline", now() + dt.timedelta(minutes=5))
    request_id = f"req-{uuid.uuid4().hex}"
    return NewMessage(prompt=prompt, request_id=request_id, deadline=deadline, **fields)


@pytest.mark.parametrize(
    ("prompt", "lang"),
    [("thêm một phiên bản nữa", "vi"), ("ще один варіант", "uk"), ("another one", "en")],
)
async def test_nothing_to_vary_is_said_in_the_language_of_the_message(
    pipeline: Pipeline, store: Store, conversation: Conversation, prompt: str, lang: str
) -> None:
    sent, _ = await store.insert_message(conversation, new(prompt, variation_requested=True))
    await pipeline.run(str(sent.id))

    done = await store.message_by_id(sent.id)
    assert done is not None
    assert done.status is Status.DONE
    assert done.reply == replies("reply.nothing_to_vary", lang)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("prompt", "lang", "expected"),
    [
        ("намалюй кота", "", "uk"),  # no analysis came: the script of the prompt decides
        ("vẽ một con mèo", "", "vi"),
        ("a cat", "vi", "vi"),  # the language the sender set
        ("a cat", "", "en"),
    ],
)
async def test_a_failure_is_worded_in_the_language_of_the_message(
    store: Store, conversation: Conversation, prompt: str, lang: str, expected: str
) -> None:
    nowhere = grpc.aio.insecure_channel(f"127.0.0.1:{_free_port()}")
    media = MediaClient("http://127.0.0.1:9")
    pipeline = Pipeline(
        store,
        prompt_grpc.PromptServiceStub(nowhere),
        image_service_pb2_grpc.ImageServiceStub(nowhere),
        media,
        Limits(
            prompt_timeout=2.0,
            retry=Backoff(attempts=2, first=0.01, jitter=0.0),
            retry_budget=0.5,
        ),
    )
    try:
        sent, _ = await store.insert_message(conversation, new(prompt, lang=lang))
        await pipeline.run(str(sent.id))
    finally:
        await nowhere.close()
        await media.aclose()

    failed = await store.message_by_id(sent.id)
    assert failed is not None
    assert failed.status is Status.FAILED
    assert failed.failure is not None
    assert failed.failure.reason == "PROMPT_SERVICE_UNAVAILABLE"
    service = replies("service.PROMPT_SERVICE", expected)
    words = replies("failure.unavailable", expected, service=service, code="UNAVAILABLE")
    assert failed.failure.message == words


async def test_the_sweeper_says_timed_out_in_the_language_of_the_message(
    store: Store, conversation: Conversation
) -> None:
    past = now() - dt.timedelta(seconds=1)
    sent, _ = await store.insert_message(conversation, new("прибери фон", deadline=past))
    assert await sweep_once(store) == 1

    settled = await store.message_by_id(sent.id)
    assert settled is not None
    assert settled.failure is not None
    assert settled.failure.message == replies("failure.timed_out", "uk")


def test_a_view_this_version_has_no_words_for_keeps_its_name() -> None:
    at = now()
    message = Message.from_doc(
        {"_id": "0" * 24, "conversation_id": "c", "prompt": "xóa phông nền", "create_time": at}
    )
    assert view_name("side", message) == replies("angle.side", "vi")
    assert view_name("underside", message) == "underside"
    assert view_name("", message) == "?"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, "PNG")
    return out.getvalue()


class Scripted(image_service_pb2_grpc.ImageServiceServicer):
    """Draws the views it is asked for, except those named in ``fail`` (failed with their
    reason, in English words); refuses the whole call with ``refuse`` (an ErrorInfo reason)."""

    def __init__(self) -> None:
        self.fail: dict[str, str] = {}
        self.refuse = ""

    async def GenerateAngles(
        self, request: image_service_pb2.GenerateAnglesRequest, context: Any
    ) -> AsyncIterator[image_service_pb2.GenerateAnglesResponse]:
        if self.refuse:
            raise InvalidArgument("subject.description", REFUSAL_WORDS, reason=self.refuse)
        for index, angle in enumerate(request.angles):
            view = image_service_pb2.GenerateAnglesResponse(
                angle=angle, index=index, total=len(request.angles), session_id="s1"
            )
            reason = self.fail.get(angle_name(angle))
            if reason is not None:
                view.error.CopyFrom(common_pb2.Failure(reason=reason, message=UPSTREAM_WORDS))
            else:
                view.image.CopyFrom(
                    common_pb2.Image(data=_png(), mime_type="image/png", width=8, height=8)
                )
            yield view


@pytest.fixture
def scripted() -> Scripted:
    return Scripted()  # type: ignore[abstract]  # only GenerateAngles is called


@pytest.fixture
async def scripted_pipeline(
    start_server: StartServer, store: Store, media_url: str, scripted: Scripted
) -> AsyncIterator[Pipeline]:
    """The pipeline with the real prompt service and Media stand-in, the scripted images."""

    prompt = await start_server(
        prompt_app.build, PromptSettings(gemini_api_key=None, media_service_url=media_url)
    )
    image = await scripted_image_service(start_server, scripted)
    async with contextlib.AsyncExitStack() as stack:
        yield await worker_pipeline(stack, store, prompt, image, media_url)


@pytest.mark.parametrize("lang", ["vi", "uk", "en"])
@pytest.mark.parametrize("reason", ["PROVIDERS_EXHAUSTED", "INTERNAL", "SOMETHING_NEW"])
async def test_a_failed_view_is_said_by_its_reason_in_the_language_of_the_message(
    scripted_pipeline: Pipeline,
    scripted: Scripted,
    store: Store,
    conversation: Conversation,
    lang: str,
    reason: str,
) -> None:
    scripted.fail = {"side": reason}
    sent, _ = await store.insert_message(conversation, new(CLIO[lang]))
    await scripted_pipeline.run(str(sent.id))

    done = await store.message_by_id(sent.id)
    assert done is not None
    assert done.status is Status.DONE
    (failed,) = done.failed_views
    assert (failed.angle, failed.reason) == ("side", reason)  # the reason as it came
    key = f"failure.reason.{reason}" if reason != "SOMETHING_NEW" else "failure.reason_unknown"
    assert failed.message == replies(key, lang)
    assert UPSTREAM_WORDS not in failed.message
    if lang != "en":
        assert failed.message != replies(key, "en")


@pytest.mark.parametrize("lang", ["vi", "uk"])
async def test_no_view_at_all_names_each_with_its_reason_in_the_language_of_the_message(
    scripted_pipeline: Pipeline,
    scripted: Scripted,
    store: Store,
    conversation: Conversation,
    lang: str,
) -> None:
    scripted.fail = {"front": "PROVIDERS_EXHAUSTED", "side": "INTERNAL", "rear": "INTERNAL"}
    sent, _ = await store.insert_message(conversation, new(CLIO[lang]))
    await scripted_pipeline.run(str(sent.id))

    failed = await store.message_by_id(sent.id)
    assert failed is not None
    assert failed.status is Status.FAILED
    assert failed.failure is not None
    assert failed.failure.reason == "NO_IMAGES"

    def one(angle: str) -> str:
        reason = replies(f"failure.reason.{scripted.fail[angle]}", lang)
        return replies("failure.view", lang, view=replies(f"angle.{angle}", lang), reason=reason)

    detail = "; ".join(one(a) for a in sorted(scripted.fail))
    assert failed.failure.message == replies("failure.no_images", lang, detail=detail)
    assert UPSTREAM_WORDS not in failed.failure.message


@pytest.mark.parametrize(
    ("lang", "reason", "key"),
    [
        ("vi", "IMAGE_TOO_LARGE", "failure.reason.IMAGE_TOO_LARGE"),
        ("uk", "IMAGE_TOO_LARGE", "failure.reason.IMAGE_TOO_LARGE"),
        # A reason the catalogue has no words for: the gRPC code's words.
        ("uk", "SUBJECT_TOO_ODD", "failure.reason.INVALID_ARGUMENT"),
    ],
)
async def test_a_refusal_is_said_by_its_reason_in_the_language_of_the_message(
    scripted_pipeline: Pipeline,
    scripted: Scripted,
    store: Store,
    conversation: Conversation,
    lang: str,
    reason: str,
    key: str,
) -> None:
    scripted.refuse = reason
    sent, _ = await store.insert_message(conversation, new(CLIO[lang]))
    await scripted_pipeline.run(str(sent.id))

    failed = await store.message_by_id(sent.id)
    assert failed is not None
    assert failed.failure is not None
    assert failed.failure.reason == "IMAGE_SERVICE_INVALID_ARGUMENT"
    service = replies("service.IMAGE_SERVICE", lang)
    words = replies("failure.refused", lang, service=service, detail=replies(key, lang))
    assert failed.failure.message == words
    assert REFUSAL_WORDS not in failed.failure.message


@pytest.mark.parametrize("lang", ["vi", "uk"])
async def test_an_image_the_store_cannot_take_is_said_in_the_language_of_the_message(
    start_server: StartServer, store: Store, conversation: Conversation, lang: str
) -> None:
    """The Media Service is a port nothing listens on: the drawn views cannot be stored."""
    prompt = await start_server(
        prompt_app.build, PromptSettings(gemini_api_key=None, media_service_url="http://m")
    )
    scripted = Scripted()  # type: ignore[abstract]

    async def build_image(settings: object, stack: object) -> list[ServiceBinding]:
        del settings, stack
        add = image_service_pb2_grpc.add_ImageServiceServicer_to_server
        return [bind(scripted, add, "photofun.v1.ImageService")]

    image = await start_server(build_image, ServerSettings())
    media = MediaClient(f"http://127.0.0.1:{_free_port()}")
    channels = [mesh_channel(s.address, ServerSettings()) for s in (prompt, image)]
    pipeline = Pipeline(
        store,
        prompt_grpc.PromptServiceStub(channels[0]),
        image_service_pb2_grpc.ImageServiceStub(channels[1]),
        media,
        Limits(retry=Backoff(attempts=2, first=0.01, jitter=0.0), retry_budget=0.5),
    )
    try:
        sent, _ = await store.insert_message(conversation, new(CLIO[lang]))
        await pipeline.run(str(sent.id))
    finally:
        for channel in channels:
            await channel.close()
        await media.aclose()

    failed = await store.message_by_id(sent.id)
    assert failed is not None
    assert failed.failure is not None
    assert failed.failure.reason == "MEDIA_UNAVAILABLE"
    detail = replies("failure.reason.MEDIA_UNAVAILABLE", lang)
    assert failed.failure.message == replies("failure.store_image", lang, detail=detail)


@pytest.mark.parametrize(("prompt", "lang"), [("vẽ một con mèo", "vi"), ("намалюй кота", "uk")])
async def test_a_cancelled_message_says_so_in_its_language(
    stub: Stub, prompt: str, lang: str
) -> None:
    conversation = await stub.CreateConversation(
        pb.CreateConversationRequest(), metadata=auth("alice")
    )
    sent = await stub.SendMessage(
        pb.SendMessageRequest(
            conversation_id=conversation.conversation.conversation_id, prompt=prompt
        ),
        metadata=auth("alice"),
    )
    cancelled = await stub.CancelMessage(
        pb.CancelMessageRequest(message_id=sent.message.message_id), metadata=auth("alice")
    )
    assert cancelled.message.failure.reason == "CANCELLED_BY_USER"
    assert cancelled.message.failure.message == replies("failure.cancelled", lang)
    assert cancelled.message.failure.message != replies("failure.cancelled", "en")


@pytest.mark.parametrize(
    ("prompt", "lang"),
    [
        ("make it anime", "en"),
        ("biến ảnh này thành phong cách anime", "vi"),
        ("зроби це фото в стилі аніме", "uk"),
    ],
)
async def test_an_attached_picture_that_is_gone_or_no_picture_is_said_to_be_the_users(
    pipeline: Pipeline,
    store: Store,
    conversation: Conversation,
    media_url: str,
    prompt: str,
    lang: str,
) -> None:
    """The real image service fetches the attachment from the Media stand-in: a file it does
    not have, or one that is not a picture, fails the message by that reason (not as the image
    service refusing), in the language of the message."""
    async with MediaClient(media_url) as media:
        text = await media.upload(b"not a picture", filename="note.txt", mime_type="text/plain")
    cases = {
        "INPUT_IMAGE_NOT_FOUND": f"{media_url}/api/v1/files/{'d' * 64}.png",
        "INPUT_IMAGE_UNREADABLE": text,
    }
    for reason, url in cases.items():
        sent, _ = await store.insert_message(
            conversation, new(prompt, lang=lang, input_image_url=url)
        )
        await pipeline.run(str(sent.id))

        failed = await store.message_by_id(sent.id)
        assert failed is not None
        assert failed.status is Status.FAILED
        assert failed.failure is not None
        assert failed.failure.reason == reason
        assert failed.failure.message == replies(f"failure.reason.{reason}", lang)
