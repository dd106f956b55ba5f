"""Conversation memory end to end over real processes (MongoDB-wire server, Redis, the Media
stand-in, the three services and a Celery worker), in English, Vietnamese and Ukrainian:
follow-ups with nothing attached act on the last result."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from photofun.v1 import common_pb2
from photofun.v1 import conversation_service_pb2 as pb
from photofun.v1 import conversation_service_pb2_grpc as rpc
from tests.e2e.stacks import auth, shared_stack

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Per language: a set of views of one car, then follow-ups that name nothing new.
TURNS = {
    "en": {
        "set": "2019 Renault Clio blue hatchback, front side rear",
        "more": "now show it from the top",
        "restyle": "make it anime style",
        "background": "remove the background",
        "enhance": "upscale it please",
        "another": "another one",
    },
    "vi": {
        "set": "xe Renault Clio 2019 màu xanh, mặt trước, bên hông và phía sau",
        "more": "giờ cho xem từ phía sau",
        "restyle": "biến nó thành phong cách anime",
        "background": "xóa phông nền đi",
        "enhance": "lam net anh nay",
        "another": "cái khác",
    },
    "uk": {
        "set": "Renault Clio 2019 синій хетчбек, спереду, збоку та ззаду",
        "more": "тепер покажи ззаду",
        "restyle": "зроби це в стилі аніме",
        "background": "прибери фон",
        "enhance": "покращ якість",
        "another": "інший варіант",
    },
}
EDITS = {
    "restyle": common_pb2.INTENT_STYLE_TRANSFER,
    "background": common_pb2.INTENT_EDIT_BACKGROUND,
    "enhance": common_pb2.INTENT_ENHANCE_IMAGE,
}


# The mock at full speed; up to 20 of a user's messages at once (tests/e2e/stacks.py).
stack = shared_stack("plain")


class Chat:
    """One user's conversation: send a message and wait until it is DONE."""

    def __init__(self, stub: rpc.ConversationServiceAsyncStub, user: str) -> None:
        self.stub, self.user = stub, user
        self.conversation_id = ""

    async def say(
        self,
        prompt: str,
        *,
        reference: pb.ResultReference | None = None,
        seed: int | None = None,
    ) -> pb.Message:
        if not self.conversation_id:
            created = await self.stub.CreateConversation(
                pb.CreateConversationRequest(), metadata=auth(self.user)
            )
            self.conversation_id = created.conversation.conversation_id
        sent = await self.stub.SendMessage(
            pb.SendMessageRequest(
                conversation_id=self.conversation_id, prompt=prompt, reference=reference, seed=seed
            ),
            metadata=auth(self.user),
        )
        final = sent.message
        async with asyncio.timeout(90):
            async for event in self.stub.WatchMessage(
                pb.WatchMessageRequest(message_id=sent.message.message_id),
                metadata=auth(self.user),
            ):
                final = event.message
        assert final.status == pb.MESSAGE_STATUS_DONE, (prompt, final.failure)
        return final


def session_of(message: pb.Message) -> str:
    (session,) = {i.session_id for i in message.images}
    return session


def seeds_of(message: pb.Message) -> dict[int, int]:
    return {i.angle: i.seed for i in message.images}


@pytest.mark.parametrize("lang", sorted(TURNS))
async def test_follow_ups_add_views_edit_and_vary_the_last_result(
    stub: rpc.ConversationServiceAsyncStub, lang: str
) -> None:
    turns = TURNS[lang]
    chat = Chat(stub, f"memory-{lang}")
    first = await chat.say(turns["set"])
    assert first.intent == common_pb2.INTENT_GENERATE_ANGLES
    assert len(first.images) == 3
    car = session_of(first)

    # More views join the same session: the same car, the seeds that session gives them.
    more = await chat.say(turns["more"])
    assert more.follow_up == common_pb2.FOLLOW_UP_MORE_VIEWS
    assert more.source.message_id == first.message_id
    assert more.intent == common_pb2.INTENT_GENERATE_ANGLES
    assert session_of(more) == car
    for angle, seed in seeds_of(more).items():
        if angle in seeds_of(first):  # a view drawn again is the same view
            assert seed == seeds_of(first)[angle]

    # Edits with nothing attached take the last result's main image, so they chain.
    last = more
    for kind, intent in EDITS.items():
        edited = await chat.say(turns[kind])
        assert edited.intent == intent, (kind, edited.reply)
        assert edited.follow_up == common_pb2.FOLLOW_UP_EDIT
        main = next((i for i in last.images if i.is_main), last.images[0])
        assert edited.input_image_url == main.image_url
        assert edited.source.message_id == last.message_id
        assert len(edited.images) == 1
        assert "attach" not in edited.reply.lower()
        last = edited

    # "Another one" varies the last drawn result (edits are not drawn): a new take, new seeds.
    another = await chat.say(turns["another"])
    assert another.follow_up == common_pb2.FOLLOW_UP_VARIATION
    assert another.source.message_id == more.message_id
    assert another.variation == 1
    assert session_of(another) == car
    assert set(seeds_of(another)) == set(seeds_of(more))
    assert set(seeds_of(another).values()).isdisjoint(seeds_of(more).values())


async def test_a_follow_up_with_nothing_to_continue_says_what_to_do(
    stub: rpc.ConversationServiceAsyncStub,
) -> None:
    for lang, turns in TURNS.items():
        answered = await Chat(stub, f"empty-{lang}").say(turns["restyle"])
        assert answered.intent == common_pb2.INTENT_CHAT, lang
        assert not answered.images
        assert answered.reply  # a sentence that says what to do, never FAILED


async def test_a_picked_image_is_edited_and_a_seed_reproduces_bytes(
    stub: rpc.ConversationServiceAsyncStub,
) -> None:
    chat = Chat(stub, "picker")
    cars = await chat.say(TURNS["en"]["set"])
    await chat.say("a lighthouse on a cliff at dusk")
    side = next(n for n, i in enumerate(cars.images) if i.angle == common_pb2.ANGLE_SIDE)
    edited = await chat.say(
        "make it anime style",
        reference=pb.ResultReference(message_id=cars.message_id, image_index=side),
    )
    assert edited.intent == common_pb2.INTENT_STYLE_TRANSFER
    assert edited.input_image_url == cars.images[side].image_url
    assert edited.source.message_id == cars.message_id
    assert edited.source.image_index == side

    once = await chat.say("a red kite over green hills", seed=31337)
    twice = await chat.say("a red kite over green hills", seed=31337)
    assert once.seed == twice.seed == 31337
    async with httpx.AsyncClient() as http:
        first, second = [(await http.get(m.images[0].image_url)).content for m in (once, twice)]
    assert first == second
