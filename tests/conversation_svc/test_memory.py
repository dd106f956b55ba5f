"""The worker's pipeline uses the conversation: variations, picked results, explicit seeds.

Real parts: the MongoDB-wire server, the prompt service (local analyser), the image service
(procedural renderer) and the Media stand-in, wired to the real pipeline in this process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from conversation_svc.model import Conversation, Message, NewMessage, ResultRef, Status
from conversation_svc.pipeline import NOTHING_TO_VARY, Pipeline
from conversation_svc.store import Store, now
from mesh.vocabulary import FollowUp, Intent

CLIO = "2019 Renault Clio blue hatchback, front side rear"
Send = Callable[..., Awaitable[Message]]


@pytest.fixture
async def conversation(store: Store) -> Conversation:
    return await store.create_conversation("alice", "")


@pytest.fixture
def send(pipeline: Pipeline, store: Store, conversation: Conversation) -> Send:
    """Store a message as SendMessage would, run the pipeline on it, return the result."""
    count = 0

    async def run(prompt: str, **fields: Any) -> Message:
        nonlocal count
        count += 1
        new = NewMessage(
            prompt=prompt,
            request_id=f"req-{count}",
            deadline=now() + dt.timedelta(minutes=5),
            **fields,
        )
        sent, _ = await store.insert_message(conversation, new)
        await pipeline.run(str(sent.id))
        done = await store.message_by_id(sent.id)
        assert done is not None
        assert done.status is Status.DONE, done.failure
        return done

    return run


def seeds(message: Message) -> dict[str, int]:
    return {image.angle: image.seed for image in message.images}


async def test_variations_keep_the_car_and_never_repeat_seeds(send: Send) -> None:
    first = await send(CLIO)
    assert first.intent is Intent.GENERATE_ANGLES
    assert first.variation == 0
    second = await send("again please", variation_requested=True)
    third = await send("one more", variation_requested=True)

    for take, (message, varied) in enumerate(((second, first), (third, second)), start=1):
        assert message.follow_up is FollowUp.VARIATION
        assert message.variation == take  # takes of one car are counted, whichever is varied
        assert message.intent is Intent.GENERATE_ANGLES
        assert message.source == ResultRef(str(varied.id), None)  # the last result
        assert message.session_id == first.session_id  # the same car
        assert set(seeds(message)) == set(seeds(first))  # the same framing
    all_seeds = [seed for m in (first, second, third) for seed in seeds(m).values()]
    assert len(all_seeds) == len(set(all_seeds)) == 9  # never the same seeds again


async def test_a_variation_of_a_picked_result_varies_that_one(send: Send) -> None:
    boat = await send("a red sailing boat on a calm lake")
    await send("a lighthouse on a cliff at dusk")
    varied = await send(
        "another version", variation_requested=True, reference=ResultRef(str(boat.id), 0)
    )
    assert varied.source == ResultRef(str(boat.id), 0)
    assert varied.refined_prompt == boat.refined_prompt
    assert varied.variation == 1
    assert varied.images[0].seed != boat.images[0].seed


async def test_a_variation_with_nothing_to_vary_says_so_and_ends_done(send: Send) -> None:
    answered = await send("another one", variation_requested=True)
    assert answered.intent is Intent.CHAT
    assert answered.follow_up is FollowUp.NONE
    assert answered.reply == NOTHING_TO_VARY
    assert not answered.images


async def test_an_explicit_seed_reproduces_the_bytes(send: Send) -> None:
    first = await send("a lighthouse on a cliff at dusk", seed=4242)
    again = await send("a lighthouse on a cliff at dusk", seed=4242)
    other = await send("a lighthouse on a cliff at dusk", seed=4243)
    assert first.seed == again.seed == 4242
    assert first.images[0].seed == 4242
    assert first.images[0].provider == "mock"
    assert first.images[0].seed_reproducible  # the renderer promises it; the bytes show it
    async with httpx.AsyncClient() as http:
        pixels = [(await http.get(m.images[0].image_url)).content for m in (first, again, other)]
    assert pixels[0] == pixels[1]
    assert pixels[0] != pixels[2]


async def test_a_picked_result_that_is_also_attached_is_recorded_as_its_source(
    send: Send,
) -> None:
    cars = await send(CLIO)
    rear = next(n for n, i in enumerate(cars.images) if i.angle == "rear")
    edited = await send(
        "make it anime style",
        input_image_url=cars.images[rear].image_url,
        reference=ResultRef(str(cars.id), rear),
    )
    assert edited.intent is Intent.STYLE_TRANSFER
    assert edited.follow_up is FollowUp.EDIT
    assert edited.source == ResultRef(str(cars.id), rear)
    assert edited.input_image_url == cars.images[rear].image_url


@pytest.mark.parametrize(
    ("edit", "change", "expected"),
    [
        ("make it anime style", "make it red", {"color": "red"}),
        ("remove the background", "make it green", {"color": "green"}),
        ("enhance it", "now a 2015 one", {"year": 2015}),
    ],
)
async def test_a_change_of_subject_after_an_edit_redraws_the_last_drawn_car(
    send: Send, edit: str, change: str, expected: dict[str, Any]
) -> None:
    drawn = await send(CLIO)
    edited = await send(edit)
    assert edited.intent is not None
    assert edited.intent.needs_image
    changed = await send(change)
    # An edit has no subject to redraw: the change applies to the last drawn result, as a
    # variation after an edit does, with its views and its kind of drawing.
    assert changed.follow_up is FollowUp.CHANGE_SUBJECT
    assert changed.intent is Intent.GENERATE_ANGLES
    assert changed.source == ResultRef(str(drawn.id), None)
    assert changed.analysis is not None
    subject = changed.analysis.subject
    assert (subject.brand, subject.model) == ("Renault", "Clio")
    for field, value in expected.items():
        assert getattr(subject, field) == value
    assert sorted(i.angle for i in changed.images) == sorted(i.angle for i in drawn.images)
