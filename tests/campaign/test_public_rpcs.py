"""A property-based campaign (Hypothesis) over the request message of every public RPC of the
three services, on real ports: the real prompt service (local analyser), image service
(procedural renderer), conversation service on the MongoDB-wire server, the Media stand-in,
and the real pipeline run in-process for every message SendMessage accepts.

For every generated request:
- the answer is never INTERNAL or UNKNOWN (a refusal names its reason; a dependency that is
  down is UNAVAILABLE);
- a refused call that would write (Create/Delete/Send/Cancel/Upload) changed nothing in the
  database;
- every message SendMessage accepts ends DONE, FAILED with a reason (never the pipeline's own
  fault: ``*_INTERNAL`` / ``*_UNKNOWN``, or ``*_INVALID_ARGUMENT`` when the caller sent no
  image), or CANCELLED.

Requests are built from each message's descriptor (every field, nested messages, repeated
fields, unknown enum values), with strings drawn both at random and from values that reach
deep: ids that exist, Media URLs (a real PNG, a text file, CR/LF, 100 KB), signed and crafted
page and resume tokens, long and NFKC-expanding prompts.

Run time: ``PHOTOFUN_CAMPAIGN_EXAMPLES`` examples per RPC (default 12, derandomised: the same
examples every run, about 20 s in all). Deeper runs: ``PHOTOFUN_CAMPAIGN_EXAMPLES=500`` (and
``PHOTOFUN_CAMPAIGN_SEED=<n>`` for other random examples than the fixed ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf import descriptor as pbd
from google.protobuf.message import Message as ProtoMessage
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from PIL import Image
from pymongo import AsyncMongoClient

from conversation_svc.model import Status
from conversation_svc.pipeline import Pipeline
from conversation_svc.runtime import LoopThread, mesh_channel
from conversation_svc.servicer import ConversationServicer
from conversation_svc.store import Store, database_unavailable
from conversation_svc.tokens import derive_key
from conversation_svc.uploads import Uploader
from devstack.media_server import create_app as media_app
from image_svc import app as image_app
from image_svc.settings import Settings as ImageSettings
from mesh.auth import mint_token
from mesh.media import MediaClient
from mesh.server import GrpcServer, ServiceBinding, bind
from mesh.settings import ServerSettings
from photofun.v1 import (
    conversation_service_pb2,
    conversation_service_pb2_grpc,
    image_service_pb2,
    image_service_pb2_grpc,
    prompt_service_pb2,
    prompt_service_pb2_grpc,
)
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.http_servers import serve_app

T = TypeVar("T")
EXAMPLES = int(os.environ.get("PHOTOFUN_CAMPAIGN_EXAMPLES", "12"))
SEED = os.environ.get("PHOTOFUN_CAMPAIGN_SEED")
SECRET = "a-campaign-secret-that-is-long-enough-for-hs256"
USER = "fuzzer"
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
WRITES = {"CreateConversation", "DeleteConversation", "SendMessage", "CancelMessage", "UploadImage"}
STREAM_WAIT = 0.5  # seconds a watch is read before the campaign moves on


class InProcessQueue:
    """The work queue of the campaign: runs the real pipeline as an asyncio task."""

    def __init__(self) -> None:
        self.pipeline: Pipeline | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def enqueue(self, message_id: str, request_id: str) -> None:
        assert self.pipeline is not None
        task = asyncio.create_task(self.pipeline.run(message_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def revoke(self, request_id: str) -> None:
        """The pipeline notices a cancelled message itself."""

    async def idle(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks))


@dataclass
class World:
    """The running services and what the strategies draw from."""

    stack: contextlib.AsyncExitStack
    store: Store
    queue: InProcessQueue
    stubs: dict[str, Any]
    conversation_id: str = ""
    message_ids: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    accepted: int = 0
    outcomes: dict[str, set[str]] = field(default_factory=dict)


def _png(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 140, 200)).save(out, "PNG")
    return out.getvalue()


async def _server(stack: contextlib.AsyncExitStack, bindings: Sequence[ServiceBinding]) -> str:
    settings = ServerSettings(host="127.0.0.1", port=0, jwt_secret=SECRET)
    server = GrpcServer(bindings, settings)
    await server.start()
    stack.push_async_callback(server.stop, 0)
    return server.address


async def start_world(mongo_uri: str, root: Path) -> World:
    stack = contextlib.AsyncExitStack()
    media_url = await stack.enter_async_context(serve_app(media_app(root / "media")))
    prompt_settings = PromptSettings(gemini_api_key=None, media_service_url=media_url)
    image_settings = ImageSettings(
        render_mode="thread", media_service_url=media_url, mock_latency=0.0
    )
    prompt_addr = await _server(stack, await prompt_app.build(prompt_settings, stack))
    image_addr = await _server(stack, await image_app.build(image_settings, stack))
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    stack.push_async_callback(client.close)
    store = Store(client, f"campaign_{os.getpid()}", token_key=derive_key(SECRET.encode()))
    await store.ensure_indexes()
    stack.push_async_callback(store.close)  # its message feed (WatchMessage), before the client
    media = MediaClient(media_url)
    stack.push_async_callback(media.aclose)
    channels = {
        name: grpc.aio.insecure_channel(addr)
        for name, addr in (("prompt", prompt_addr), ("image", image_addr))
    }
    # The pipeline's own channels: as the worker calls, for each message's owner.
    worker = {
        name: mesh_channel(addr, ServerSettings(jwt_secret=SECRET))
        for name, addr in (("prompt", prompt_addr), ("image", image_addr))
    }
    for channel in [*channels.values(), *worker.values()]:
        stack.push_async_callback(channel.close)
    queue = InProcessQueue()
    queue.pipeline = Pipeline(
        store,
        prompt_service_pb2_grpc.PromptServiceStub(worker["prompt"]),
        image_service_pb2_grpc.ImageServiceStub(worker["image"]),
        media,
    )
    servicer = ConversationServicer(
        store,
        queue,
        media_service_url=media_url,
        uploader=Uploader(media, store, max_bytes=300_000, max_pixels=4_000_000, per_hour=10_000),
        max_processing_per_user=3,
        message_timeout=120,
    )
    conversation_addr = await _server(
        stack,
        [
            bind(
                servicer,
                conversation_service_pb2_grpc.add_ConversationServiceServicer_to_server,
                "photofun.v1.ConversationService",
                translators=[database_unavailable],
            )
        ],
    )
    conversation = grpc.aio.insecure_channel(conversation_addr)
    stack.push_async_callback(conversation.close)
    stubs = {
        "ConversationService": conversation_service_pb2_grpc.ConversationServiceStub(conversation),
        "PromptService": prompt_service_pb2_grpc.PromptServiceStub(channels["prompt"]),
        "ImageService": image_service_pb2_grpc.ImageServiceStub(channels["image"]),
    }
    world = World(stack, store, queue, stubs)
    await _seed(world, media, media_url)
    return world


async def _seed(world: World, media: MediaClient, media_url: str) -> None:
    """A conversation with a finished picture, uploaded files and real tokens to draw from."""
    stub = world.stubs["ConversationService"]
    pb = conversation_service_pb2
    created = await stub.CreateConversation(pb.CreateConversationRequest(), metadata=_auth())
    world.conversation_id = created.conversation.conversation_id
    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=world.conversation_id, prompt="a red kite"),
        metadata=_auth(),
    )
    await world.queue.idle()
    world.message_ids.append(sent.message.message_id)
    png = await media.upload(_png(), filename="in.png", mime_type="image/png")
    text = await media.upload(b"not a picture", filename="x.txt", mime_type="text/plain")
    world.urls += [png, text, media_url + "/api/v1/files/" + "0" * 64 + ".png"]
    await stub.CreateConversation(pb.CreateConversationRequest(title="two"), metadata=_auth())
    listed = await stub.ListConversations(
        pb.ListConversationsRequest(page_size=1), metadata=_auth()
    )
    watch = stub.WatchMessage(
        pb.WatchMessageRequest(message_id=sent.message.message_id), metadata=_auth()
    )
    snapshot = await watch.read()
    watch.cancel()
    world.tokens += [listed.next_page_token, snapshot.resume_token]


def _auth(user: str = USER) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {mint_token(SECRET, user)}"),)


@pytest.fixture(scope="module")
def world(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """The world runs on its own event loop in a thread: Hypothesis drives it synchronously."""
    loop = LoopThread()
    built = loop.run(start_world(mongo_uri, tmp_path_factory.mktemp("campaign")), timeout=120)
    yield Runner(loop, built)
    loop.run(built.stack.aclose(), timeout=60)
    loop.stop()


@dataclass
class Runner:
    loop: LoopThread
    world: World

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run(coro, timeout=120)


# -- requests from descriptors ----------------------------------------------------------------

LONG_PROMPTS = [
    "2019 Renault Clio blue hatchback, front side rear",
    "draw " + "a very very big fluffy orange cat, " * 20,
    "\ufdfa" * 2000,
    "make it anime style",
    "remove the background",
    "replace the background with a beach at sunset",
    "enhance it 4k",
    "another one",
    "now show it from the top",
    "vẽ một con mèo dễ thương",
    "зроби це в стилі аніме",
    "hello",
]


def _strings(world: World, name: str, plausible: bool) -> st.SearchStrategy[str]:
    """Random text, and the values of this field that reach past the first check."""
    special: list[str] = []
    if plausible and name == "conversation_id":
        return st.just(world.conversation_id)
    if plausible and name == "message_id":
        return st.sampled_from(world.message_ids)
    if plausible and "url" in name:
        return st.sampled_from(["", world.urls[0]])
    if name.endswith(("conversation_id", "message_id")) or name == "id":
        special += [world.conversation_id, *world.message_ids, "0" * 24, "f" * 24, "zz"]
    if "url" in name:
        special += [
            *world.urls,
            world.urls[0] + "\r\nX: 1",
            world.urls[0][:30] + "a" * 100_000,
            "http://169.254.169.254/latest",
        ]
    if name.endswith("token"):
        special += [
            *world.tokens,
            "eyJ0IjoiMDAwMS0wMS0wMVQwMDowMDowMCsxNDowMCIsImlkIjoiMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIn0",
            "a.b",
            "." * 3000,
        ]
    if name in ("prompt", "text", "scene"):
        special += LONG_PROMPTS
    if name == "color":
        special += ["#ff0000", "red", "#12345", "#gggggg"]
    if name == "lang":
        special += ["en", "vi", "uk", "de", "EN"]
    if name == "order_by":
        special += ["create_time desc", "create_time", "update_time"]
    if plausible and special:
        return st.sampled_from(special)
    return st.one_of(st.sampled_from(["", *special]), st.text(max_size=40))


def _scalar(world: World, f: pbd.FieldDescriptor, plausible: bool) -> st.SearchStrategy[Any]:
    t = f.type
    if t == pbd.FieldDescriptor.TYPE_STRING:
        return _strings(world, f.name, plausible)
    if t == pbd.FieldDescriptor.TYPE_BYTES:
        return st.one_of(
            st.sampled_from([b"", _png(), _png((1, 1)), _png()[:60], b"GIF89a" + b"\0" * 20]),
            st.binary(max_size=64),
        )
    if t == pbd.FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (pbd.FieldDescriptor.TYPE_FLOAT, pbd.FieldDescriptor.TYPE_DOUBLE):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    if t == pbd.FieldDescriptor.TYPE_ENUM:
        assert f.enum_type is not None
        known = [v.number for v in f.enum_type.values]
        if plausible:
            return st.sampled_from(known[1:] or known)
        return st.one_of(st.sampled_from(known), st.integers(-(2**31), 2**31 - 1))
    unsigned = t in (
        pbd.FieldDescriptor.TYPE_UINT32,
        pbd.FieldDescriptor.TYPE_UINT64,
        pbd.FieldDescriptor.TYPE_FIXED32,
        pbd.FieldDescriptor.TYPE_FIXED64,
    )
    bits = 32
    if t in (
        pbd.FieldDescriptor.TYPE_INT64,
        pbd.FieldDescriptor.TYPE_UINT64,
        pbd.FieldDescriptor.TYPE_SINT64,
        pbd.FieldDescriptor.TYPE_FIXED64,
        pbd.FieldDescriptor.TYPE_SFIXED64,
    ):
        bits = 64
    lo, hi = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if plausible:
        return st.integers(0, 4)
    return st.one_of(st.integers(-2, 5), st.integers(lo, hi)).filter(lambda v: lo <= v <= hi)


# Fields a plausible request always sets (what the first check asks for).
NEEDED = {"conversation_id", "message_id", "prompt", "image_url", "angles", "subject", "data"}


def requests(
    world: World, desc: pbd.Descriptor, cls: type[ProtoMessage]
) -> st.SearchStrategy[ProtoMessage]:
    """Half wild (any value of any field), half plausible (values that pass the first checks,
    so the examples reach the domain, the database and the pipeline)."""
    return st.one_of(messages(world, desc, cls, plausible=True), messages(world, desc, cls))


@st.composite
def messages(
    draw: st.DrawFn,
    world: World,
    desc: pbd.Descriptor,
    cls: type[ProtoMessage],
    depth: int = 0,
    *,
    plausible: bool = False,
) -> ProtoMessage:
    msg = cls()
    for f in desc.fields:
        if not (plausible and f.name in NEEDED) and not draw(st.booleans()):
            continue
        if f.type == pbd.FieldDescriptor.TYPE_MESSAGE:
            sub_desc = f.message_type
            assert sub_desc is not None
            if depth >= 2 or sub_desc.full_name.startswith("google.protobuf"):
                continue
            sub_cls = type(getattr(msg, f.name)) if not _repeated(f) else None
            if _repeated(f):
                for _ in range(draw(st.integers(0, 3))):
                    item = getattr(msg, f.name).add()
                    sub = messages(world, sub_desc, type(item), depth + 1, plausible=plausible)
                    item.CopyFrom(draw(sub))
            else:
                assert sub_cls is not None
                sub = messages(world, sub_desc, sub_cls, depth + 1, plausible=plausible)
                getattr(msg, f.name).CopyFrom(draw(sub))
        elif _repeated(f):
            values = st.lists(_scalar(world, f, plausible), max_size=4, unique=plausible)
            getattr(msg, f.name).extend(draw(values))
        else:
            setattr(msg, f.name, draw(_scalar(world, f, plausible)))
    return msg


def _repeated(f: pbd.FieldDescriptor) -> bool:
    return bool(f.is_repeated)


# -- the properties -----------------------------------------------------------------------------

SERVICES = {
    "ConversationService": conversation_service_pb2,
    "PromptService": prompt_service_pb2,
    "ImageService": image_service_pb2,
}
RPCS = [
    (service, method.name)
    for service, module in SERVICES.items()
    for method in module.DESCRIPTOR.services_by_name[service].methods
]


async def snapshot(store: Store) -> list[Any]:
    out: list[Any] = []
    for collection in (store.conversations, store.messages, store.uploads, store.quotas):
        out.append(await collection.find({}).sort("_id", 1).to_list())
    return out


async def check(world: World, service: str, method: pbd.MethodDescriptor, request: Any) -> None:
    await world.queue.idle()
    if method.name == "DeleteConversation" and request.conversation_id == world.conversation_id:
        # Delete a fresh one with a message in it: the others draw from the seeded conversation.
        victim = await world.stubs[service].CreateConversation(
            conversation_service_pb2.CreateConversationRequest(), metadata=_auth()
        )
        request.conversation_id = victim.conversation.conversation_id
    writes = service == "ConversationService" and method.name in WRITES
    before = await snapshot(world.store) if writes else None
    call = getattr(world.stubs[service], method.name)
    metadata = _auth()  # every public RPC needs a user (mesh.access)
    code, answer = grpc.StatusCode.OK, None
    try:
        if method.server_streaming:
            stream = call(request, metadata=metadata, timeout=60)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STREAM_WAIT):
                    async for _ in _limited(stream, 4):
                        pass
            stream.cancel()
        else:
            answer = await call(request, metadata=metadata, timeout=60)
    except grpc.aio.AioRpcError as exc:
        code = exc.code()
    world.outcomes.setdefault(method.name, set()).add(code.name)
    assert code not in NEVER, (method.name, request)
    assert code != grpc.StatusCode.DEADLINE_EXCEEDED, (method.name, request)
    if writes and code != grpc.StatusCode.OK:
        await world.queue.idle()
        assert await snapshot(world.store) == before, f"{method.name} refused but wrote"
    if method.name == "SendMessage" and code == grpc.StatusCode.OK and answer is not None:
        world.accepted += 1
        await world.queue.idle()
        final = await world.store.message_by_id(answer.message.message_id)
        assert final is not None
        assert final.status.terminal, final
        if final.status is Status.FAILED:
            reason = final.failure.reason if final.failure else ""
            assert reason, final
            assert not reason.endswith(("_INTERNAL", "_UNKNOWN")), (request, final.failure)
            if not request.image_url:
                assert not reason.endswith("_INVALID_ARGUMENT"), (request, final.failure)


async def _limited(stream: Any, n: int) -> AsyncIterator[Any]:
    count = 0
    async for item in stream:
        yield item
        count += 1
        if count >= n:
            return


@pytest.mark.parametrize(("service", "method_name"), RPCS, ids=[m for _, m in RPCS])
def test_every_public_rpc_answers_every_request_sensibly(
    world: Runner, service: str, method_name: str
) -> None:
    module = SERVICES[service]
    method = module.DESCRIPTOR.services_by_name[service].methods_by_name[method_name]
    request_cls: type[ProtoMessage] = getattr(module, method.input_type.name)
    strategy = requests(world.world, method.input_type, request_cls)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=strategy)
    def example(request: Any) -> None:
        world.run(check(world.world, service, method, request))

    if SEED is not None:
        example = seed(int(SEED))(example)
    example()


def test_the_campaign_reached_past_the_first_checks(world: Runner) -> None:
    """Runs last in this module: the campaign's examples did more than fail validation."""
    seen = world.world.outcomes
    if len(seen) < len(RPCS):
        pytest.skip("run with the whole campaign")
    assert world.world.accepted >= 1
    assert "OK" in seen.get("Refine", set())
