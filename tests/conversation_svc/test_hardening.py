"""What a hostile or unlucky caller cannot do to the conversation service, over a real port:
crafted page and resume tokens, a burst of messages past the cap, bytes that are not a
message, tokens with bad claims, and a database that goes away."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import gc
import json
import os
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import grpc
import jwt
import pytest
from bson import ObjectId
from secantus import SecantusDBServer

from conversation_svc import app
from conversation_svc.settings import Settings
from conversation_svc.store import Store
from devstack.processes import free_port
from photofun.v1 import conversation_service_pb2 as pb
from tests.conftest import ChannelTo, StartServer
from tests.conversation_svc.service import MEDIA, SECRET, StartStub, auth, expect, signer

if TYPE_CHECKING:
    from tests.conversation_svc.service import Stub


async def new_conversation(stub: Stub, user: str = "alice") -> str:
    reply = await stub.CreateConversation(pb.CreateConversationRequest(), metadata=auth(user))
    return reply.conversation.conversation_id


def unsigned(payload: dict[str, Any]) -> str:
    """A token as they were before they were signed: base64url of JSON."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


CRAFTED_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "not a time", 7]


@pytest.mark.parametrize("when", CRAFTED_TIMES)
async def test_a_crafted_page_token_is_invalid_argument_not_internal(
    stub: Stub, when: object
) -> None:
    conversation_id = await new_conversation(stub)
    oid = "0" * 24
    for token in (
        unsigned({"t": when, "id": oid}),
        # Even well signed (a leaked key, an old bug): the time is checked before it is used.
        signer().encode("conversations", {"u": "alice", "t": when, "id": oid}),
    ):
        await expect(
            stub.ListConversations(
                pb.ListConversationsRequest(page_token=token), metadata=auth("alice")
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="page_token",
        )
    for token in (
        unsigned({"c": conversation_id, "o": "asc", "t": when, "id": oid}),
        signer().encode("messages", {"c": conversation_id, "o": "asc", "t": when, "id": oid}),
    ):
        await expect(
            stub.ListMessages(
                pb.ListMessagesRequest(conversation_id=conversation_id, page_token=token),
                metadata=auth("alice"),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="page_token",
        )


async def test_page_tokens_are_tamper_evident_and_not_transferable(stub: Stub) -> None:
    for _ in range(3):
        await new_conversation(stub)
    await new_conversation(stub, "bob")
    page = await stub.ListConversations(
        pb.ListConversationsRequest(page_size=1), metadata=auth("alice")
    )
    token = page.next_page_token
    body, mac = token.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac
    for bad, user in ((flipped, "alice"), (token, "bob"), (token + "x", "alice")):
        await expect(
            stub.ListConversations(
                pb.ListConversationsRequest(page_size=1, page_token=bad), metadata=auth(user)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="page_token",
        )
    # A page token is not a resume token, even for the same caller.
    await expect(
        anext(
            aiter(
                stub.WatchConversations(
                    pb.WatchConversationsRequest(resume_token=token), metadata=auth("alice")
                )
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="resume_token",
    )


async def test_the_processing_cap_holds_under_concurrency(start_stub: StartStub) -> None:
    stub = await start_stub(max_processing_per_user=5)
    conversations = [await new_conversation(stub, "newcomer") for _ in range(4)]

    async def send(i: int) -> grpc.StatusCode:
        try:
            await stub.SendMessage(
                pb.SendMessageRequest(conversation_id=conversations[i % 4], prompt=f"cat {i}"),
                metadata=auth("newcomer"),
            )
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        return grpc.StatusCode.OK

    for _ in range(2):  # twice: the second burst finds the first one's slots all taken
        codes = await asyncio.gather(*(send(i) for i in range(20)))
        accepted = codes.count(grpc.StatusCode.OK)
        assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
        if _ == 0:
            assert accepted == 5, codes
        else:
            assert accepted == 0, codes
    # A message that ends frees its slot, exactly once (cancelling twice frees one).
    listed = await stub.ListMessages(
        pb.ListMessagesRequest(conversation_id=conversations[0]), metadata=auth("newcomer")
    )
    first = listed.messages[0].message_id
    await stub.CancelMessage(pb.CancelMessageRequest(message_id=first), metadata=auth("newcomer"))
    await expect(
        stub.CancelMessage(pb.CancelMessageRequest(message_id=first), metadata=auth("newcomer")),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    codes = await asyncio.gather(*(send(i) for i in range(10)))
    assert codes.count(grpc.StatusCode.OK) == 1, codes
    # Deleting a conversation frees the slots of its running messages.
    held = await stub.ListMessages(
        pb.ListMessagesRequest(conversation_id=conversations[1]), metadata=auth("newcomer")
    )
    await stub.DeleteConversation(
        pb.DeleteConversationRequest(conversation_id=conversations[1]), metadata=auth("newcomer")
    )
    codes = await asyncio.gather(*(send(4 * i) for i in range(10)))  # all to conversation 0
    assert codes.count(grpc.StatusCode.OK) == len(held.messages) > 0, codes


async def test_the_sweeper_frees_the_slot_of_a_message_that_timed_out(
    start_stub: StartStub, store: Store
) -> None:
    stub = await start_stub(max_processing_per_user=1, message_timeout=0.5, sweep_interval=0.2)
    conversation_id = await new_conversation(stub)
    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="nobody draws this"),
        metadata=auth("alice"),
    )
    events = [
        e
        async for e in stub.WatchMessage(
            pb.WatchMessageRequest(message_id=sent.message.message_id),
            metadata=auth("alice"),
            timeout=20,
        )
    ]
    assert events[-1].message.failure.reason == "TIMED_OUT"
    again = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="now my turn"),
        metadata=auth("alice"),
    )
    assert again.message.status == pb.MESSAGE_STATUS_PROCESSING
    quota = await store.quotas.find_one({"_id": "alice"})
    assert quota is not None
    assert [s["message_id"] for s in quota["slots"]] == [ObjectId(again.message.message_id)]


async def test_a_forged_resume_token_is_refused_and_the_end_is_always_sent(
    stub: Stub, store: Store
) -> None:
    conversation_id = await new_conversation(stub)
    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="a slow boat"),
        metadata=auth("alice"),
    )
    message_id = sent.message.message_id
    for token in (
        unsigned({"m": message_id, "v": 10**9}),
        signer().encode("message", {"m": message_id, "v": 10**9}),  # a version from the future
        signer().encode("message", {"m": message_id, "v": True}),
        signer().encode("message", {"m": message_id, "v": 0}),
    ):
        await expect(
            anext(
                aiter(
                    stub.WatchMessage(
                        pb.WatchMessageRequest(message_id=message_id, resume_token=token),
                        metadata=auth("alice"),
                        timeout=10,
                    )
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            field="resume_token",
        )
    # A genuine token resumes, and the terminal state arrives when it is reached.
    snapshot = await anext(
        aiter(
            stub.WatchMessage(pb.WatchMessageRequest(message_id=message_id), metadata=auth("alice"))
        )
    )
    resumed = stub.WatchMessage(
        pb.WatchMessageRequest(message_id=message_id, resume_token=snapshot.resume_token),
        metadata=auth("alice"),
        timeout=15,
    )
    await stub.CancelMessage(pb.CancelMessageRequest(message_id=message_id), metadata=auth("alice"))
    events = [e async for e in resumed]
    assert events[-1].event == pb.MESSAGE_EVENT_FINISHED
    assert events[-1].message.status == pb.MESSAGE_STATUS_CANCELLED


def bearer(claims: dict[str, Any], key: str = SECRET) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {jwt.encode(claims, key, algorithm='HS256')}"),)


def now() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp())


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "someone-else"},
        {"iss": None},
        {"aud": "another-api"},
        {"aud": None},
        {"exp": 32503680000},  # year 3000
        {"exp": "99999999999"},  # a string PyJWT would read as a number
        {"iat": "0"},
        {"nbf": "0"},
        {"iat": None},
        {"iat": 10**10},  # issued in the future
    ],
)
async def test_tokens_with_bad_claims_are_unauthenticated(
    stub: Stub, claims: dict[str, Any]
) -> None:
    base: dict[str, Any] = {
        "sub": "alice",
        "iss": "photofun-dev",
        "aud": "photofun",
        "iat": now(),
        "exp": now() + 600,
    }
    merged = {k: v for k, v in (base | claims).items() if v is not None}
    await expect(
        stub.ListConversations(pb.ListConversationsRequest(), metadata=bearer(merged)),
        grpc.StatusCode.UNAUTHENTICATED,
        reason="INVALID_TOKEN",
    )
    # The same token with the base claims is fine: only the bad claim was refused.
    await stub.ListConversations(pb.ListConversationsRequest(), metadata=bearer(base))


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xff\xff\xff",  # not a protobuf at all
        b"\x0a\x02\xc3\x28",  # field 1 (a string) holding invalid UTF-8
        b"\x0a\x10short",  # a length past the end
    ],
)
async def test_bytes_that_are_not_a_request_are_invalid_argument(
    start_server: StartServer,
    channel_to: ChannelTo,
    mongo_uri: str,
    redis_url: str,
    database: str,
    raw: bytes,
) -> None:
    settings = Settings(
        mongodb_uri=mongo_uri,
        mongodb_database=database,
        celery_broker_url=redis_url,
        jwt_secret=SECRET,
        media_service_url=MEDIA,
    )
    channel = channel_to(await start_server(app.build, settings), user=None)
    for method in ("SendMessage", "WatchMessage"):
        path = f"/photofun.v1.ConversationService/{method}"
        call: Any
        if method == "WatchMessage":
            stream: Any = channel.unary_stream(path)
            call = anext(aiter(stream(raw, metadata=auth("alice"))))
        else:
            unary: Any = channel.unary_unary(path)
            call = unary(raw, metadata=auth("alice"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "DecodeError" not in (caught.value.details() or "")
        assert "class" not in (caught.value.details() or "")


@pytest.fixture
async def own_mongo() -> AsyncIterator[SecantusDBServer]:
    """A MongoDB-wire server of this test alone, to stop while the service runs."""
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=":memory:")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sockets_left_by_a_dead_database() -> Iterator[None]:
    """PyMongo's monitor can keep a socket to a database that died under it until the garbage
    collector finds it, which then warns in whichever test runs next. Requested before the
    service's fixtures, this collects it after their teardown, where a dead database is the
    point of the test."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


async def test_a_database_that_goes_away_is_unavailable_not_internal(
    sockets_left_by_a_dead_database: None, start_stub: StartStub, own_mongo: SecantusDBServer
) -> None:
    uri = f"mongodb://127.0.0.1:{own_mongo.port}/?directConnection=true"
    stub = await start_stub(mongodb_uri=uri, mongodb_timeout=0.5)
    conversation_id = await new_conversation(stub)
    sent = await stub.SendMessage(
        pb.SendMessageRequest(conversation_id=conversation_id, prompt="a boat"),
        metadata=auth("alice"),
    )
    watch = stub.WatchMessage(
        pb.WatchMessageRequest(message_id=sent.message.message_id),
        metadata=auth("alice"),
        timeout=30,
    )
    snapshot = await watch.read()
    assert isinstance(snapshot, pb.WatchMessageResponse)
    assert snapshot.event == pb.MESSAGE_EVENT_SNAPSHOT
    await asyncio.to_thread(own_mongo.stop)
    await expect(watch.read(), grpc.StatusCode.UNAVAILABLE, reason="DATABASE_UNAVAILABLE")
    await expect(
        stub.SendMessage(
            pb.SendMessageRequest(conversation_id=conversation_id, prompt="another boat"),
            metadata=auth("alice"),
            timeout=30,
        ),
        grpc.StatusCode.UNAVAILABLE,
        reason="DATABASE_UNAVAILABLE",
    )


def start_service(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "MONGODB_"))}
    return subprocess.run(
        [sys.executable, "-m", "conversation_svc", "--port", "0"],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_service_without_token_configuration_refuses_to_start_in_one_line() -> None:
    # Both starts at once: each is mostly the interpreter loading the service.
    with ThreadPoolExecutor(2) as starts:
        result, short = starts.map(start_service, [{}, {"JWT_SECRET": "too-short"}])
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("conversation_svc: cannot start:")
    assert "JWT_SECRET" in lines[0]
    assert "JWT_JWKS_URL" in lines[0]
    assert short.returncode == 1
    assert short.stderr.strip().count("\n") == 0, short.stderr
    assert "at least 32 bytes" in short.stderr


def test_a_service_that_cannot_reach_mongodb_says_so_in_one_line() -> None:
    port = free_port()
    result = start_service(
        {
            "JWT_SECRET": SECRET,
            "MONGODB_URI": f"mongodb://user:hunter2@127.0.0.1:{port}/?directConnection=true",
            "CONVERSATION_SVC_MONGODB_TIMEOUT": "0.5",
        }
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"conversation_svc: cannot start: MongoDB at 127.0.0.1:{port} is unreachable "
        "(ServerSelectionTimeoutError)"
    ]
