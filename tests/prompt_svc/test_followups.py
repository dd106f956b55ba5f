"""Follow-ups through the real servicer on a real port (local analyser, no Gemini key):
each kind in English, Vietnamese with and without diacritics, and Ukrainian."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mesh.i18n import replies
from photofun.v1 import common_pb2, prompt_service_pb2, prompt_service_pb2_grpc
from prompt_svc import app
from prompt_svc.local import NO_SOURCE_REPLY
from prompt_svc.settings import Settings
from tests.conftest import ChannelTo, StartServer

if TYPE_CHECKING:
    Stub = prompt_service_pb2_grpc.PromptServiceAsyncStub

MEDIA = "http://127.0.0.1:8090"
FILES = MEDIA + "/api/v1/files/"
F, S3, SIDE, REAR, TOP, R3, RIGHT = (
    common_pb2.ANGLE_FRONT,
    common_pb2.ANGLE_FRONT_THREE_QUARTER,
    common_pb2.ANGLE_SIDE,
    common_pb2.ANGLE_REAR,
    common_pb2.ANGLE_TOP,
    common_pb2.ANGLE_REAR_THREE_QUARTER,
    common_pb2.ANGLE_SIDE_RIGHT,
)
CLIO = common_pb2.Subject(
    text="2019 Renault Clio hatchback, blue paint",
    category="vehicle",
    brand="Renault",
    model="Clio",
    year=2019,
    color="blue",
    body_type="hatchback",
)
CAR_VIEWS = common_pb2.ConversationTurn(
    prompt="2019 Renault Clio blue hatchback, front side rear",
    intent=common_pb2.INTENT_GENERATE_ANGLES,
    refined_prompt="2019 Renault Clio hatchback, blue paint, identical design, colors and "
    "proportions in every view, neutral studio background, soft studio lighting",
    subject=CLIO,
    session_id="sess-clio",
    angles=[F, SIDE, REAR],
    image_urls=[FILES + "front.png", FILES + "side.png", FILES + "rear.png"],
)
CAT = common_pb2.ConversationTurn(
    prompt="a cute cat sleeping on a sofa",
    intent=common_pb2.INTENT_GENERATE_IMAGE,
    refined_prompt="cute cat sleeping on a sofa, eye-level shot, natural light",
    subject=common_pb2.Subject(text="cute cat sleeping on a sofa", category="animal"),
    image_urls=[FILES + "cat.png"],
)
HELLO = common_pb2.ConversationTurn(prompt="hi", intent=common_pb2.INTENT_CHAT)
THANKS = common_pb2.ConversationTurn(prompt="thanks!", intent=common_pb2.INTENT_CHAT)


def context(*turns: common_pb2.ConversationTurn) -> common_pb2.ConversationContext:
    return common_pb2.ConversationContext(turns=list(turns))


@pytest.fixture
async def stub(start_server: StartServer, channel_to: ChannelTo) -> Stub:
    server = await start_server(app.build, Settings(media_service_url=MEDIA))
    return prompt_service_pb2_grpc.PromptServiceStub(channel_to(server))


async def refine(
    stub: Stub, prompt: str, ctx: common_pb2.ConversationContext, **fields: str
) -> prompt_service_pb2.RefineResponse:
    reply = await stub.Refine(
        prompt_service_pb2.RefineRequest(prompt=prompt, context=ctx, **fields)
    )
    # DetectIntent reads the message the same way.
    detected = await stub.DetectIntent(
        prompt_service_pb2.DetectIntentRequest(prompt=prompt, context=ctx, **fields)
    )
    assert (detected.intent, detected.follow_up, detected.source_turn) == (
        reply.intent,
        reply.follow_up,
        reply.source_turn,
    )
    return reply


@pytest.mark.parametrize(
    ("prompt", "intent"),
    [
        ("make it anime style", common_pb2.INTENT_STYLE_TRANSFER),
        ("remove the background", common_pb2.INTENT_EDIT_BACKGROUND),
        ("upscale it please", common_pb2.INTENT_ENHANCE_IMAGE),
        ("biến nó thành phong cách anime", common_pb2.INTENT_STYLE_TRANSFER),
        ("bien no thanh tranh mau nuoc", common_pb2.INTENT_STYLE_TRANSFER),
        ("xóa phông nền đi", common_pb2.INTENT_EDIT_BACKGROUND),
        ("lam net anh nay", common_pb2.INTENT_ENHANCE_IMAGE),
        ("зроби це в стилі аніме", common_pb2.INTENT_STYLE_TRANSFER),
        ("прибери фон", common_pb2.INTENT_EDIT_BACKGROUND),
        ("покращ якість", common_pb2.INTENT_ENHANCE_IMAGE),
    ],
)
async def test_an_edit_without_an_image_edits_the_last_result(
    stub: Stub, prompt: str, intent: common_pb2.Intent.ValueType
) -> None:
    reply = await refine(stub, prompt, context(CAT, CAR_VIEWS, THANKS))

    assert reply.intent == intent
    assert reply.follow_up == common_pb2.FOLLOW_UP_EDIT
    assert reply.source_turn == 1  # the most recent turn with images
    assert "attach" not in reply.reply
    assert reply.subject.brand == "Renault"


async def test_an_attached_image_is_edited_instead_of_the_last_result(stub: Stub) -> None:
    reply = await refine(stub, "make it anime style", context(CAT), image_url=FILES + "mine.png")

    assert reply.intent == common_pb2.INTENT_STYLE_TRANSFER
    assert reply.follow_up == common_pb2.FOLLOW_UP_UNSPECIFIED
    assert reply.source_turn == 0


@pytest.mark.parametrize(
    ("prompt", "angles"),
    [
        ("now show it from the top", [TOP]),
        ("from behind too", [REAR]),
        ("three-quarter rear", [R3]),
        ("show the car from all the other sides", [S3, R3]),
        ("giờ cho xem từ phía sau", [REAR]),
        ("gio cho xem tu tren cao", [TOP]),
        ("xem các góc khác nữa", [S3, R3]),
        ("тепер покажи ззаду", [REAR]),
        ("покажи цю машину справа", [RIGHT]),
    ],
)
async def test_views_of_the_last_subject_are_more_views(
    stub: Stub, prompt: str, angles: list[common_pb2.Angle.ValueType]
) -> None:
    reply = await refine(stub, prompt, context(CAT, CAR_VIEWS, THANKS))

    assert reply.intent == common_pb2.INTENT_GENERATE_ANGLES
    assert reply.follow_up == common_pb2.FOLLOW_UP_MORE_VIEWS
    assert reply.source_turn == 1
    assert list(reply.angles) == angles
    assert reply.subject == CLIO


@pytest.mark.parametrize(
    ("prompt", "field", "value"),
    [
        ("make it red", "color", "red"),
        ("as a convertible", "body_type", "convertible"),
        ("in white", "color", "white"),
        ("đổi sang màu đỏ", "color", "red"),
        ("lam no mau trang", "color", "white"),
        ("làm bản mui trần", "body_type", "convertible"),
        ("зроби його червоним", "color", "red"),
        ("зроби цю машину кабріолетом", "body_type", "convertible"),
    ],
)
async def test_a_change_to_the_subject_keeps_the_framing(
    stub: Stub, prompt: str, field: str, value: str
) -> None:
    reply = await refine(stub, prompt, context(CAR_VIEWS, HELLO))

    assert reply.intent == common_pb2.INTENT_GENERATE_ANGLES
    assert reply.follow_up == common_pb2.FOLLOW_UP_CHANGE_SUBJECT
    assert reply.source_turn == 0
    assert list(reply.angles) == [F, SIDE, REAR]
    assert getattr(reply.subject, field) == value
    assert (reply.subject.brand, reply.subject.model, reply.subject.year) == (
        "Renault",
        "Clio",
        2019,
    )
    assert value in reply.subject.text
    assert reply.refined_prompt.startswith(reply.subject.text)


async def test_a_changed_colour_replaces_the_old_one_in_the_wording(stub: Stub) -> None:
    reply = await refine(stub, "make it red", context(CAR_VIEWS))

    assert reply.subject.text == "2019 Renault Clio hatchback, red paint"
    assert "blue" not in reply.refined_prompt


@pytest.mark.parametrize(
    "prompt",
    [
        "another one",
        "a different version please",
        "cái khác",
        "mot phien ban khac",
        "інший варіант",
        "ще один",
    ],
)
async def test_another_take_is_a_variation(stub: Stub, prompt: str) -> None:
    cat = await refine(stub, prompt, context(CAR_VIEWS, CAT))
    car = await refine(stub, prompt, context(CAT, CAR_VIEWS, HELLO))

    assert (cat.intent, cat.follow_up, cat.source_turn) == (
        common_pb2.INTENT_GENERATE_IMAGE,
        common_pb2.FOLLOW_UP_VARIATION,
        1,
    )
    assert cat.subject == CAT.subject
    assert list(cat.angles) == []
    assert (car.intent, car.follow_up, car.source_turn) == (
        common_pb2.INTENT_GENERATE_ANGLES,
        common_pb2.FOLLOW_UP_VARIATION,
        1,
    )
    assert list(car.angles) == [F, SIDE, REAR]
    assert car.refined_prompt == CAR_VIEWS.refined_prompt


@pytest.mark.parametrize(
    ("prompt", "intent"),
    [
        ("draw a cat on the beach", common_pb2.INTENT_GENERATE_IMAGE),
        ("a Tesla Model Y from the front and side", common_pb2.INTENT_GENERATE_ANGLES),
        ("vẽ một con chó trên bãi biển", common_pb2.INTENT_GENERATE_IMAGE),
        ("намалюй собаку в парку", common_pb2.INTENT_GENERATE_IMAGE),
        ("thanks, love it", common_pb2.INTENT_CHAT),
        ("how do I download it?", common_pb2.INTENT_CHAT),
    ],
)
async def test_a_new_subject_is_a_new_request(
    stub: Stub, prompt: str, intent: common_pb2.Intent.ValueType
) -> None:
    reply = await refine(stub, prompt, context(CAR_VIEWS))

    assert reply.intent == intent
    assert (reply.follow_up, reply.source_turn) == (common_pb2.FOLLOW_UP_UNSPECIFIED, 0)


@pytest.mark.parametrize(
    "prompt",
    [
        "make it anime style",
        "remove the background",
        "now from the top",
        "make it red",
        "another one",
        "thêm một tấm nữa",
        "doi sang mau do",
        "тепер покажи ззаду",
        "ще раз",
    ],
)
async def test_a_follow_up_with_nothing_to_continue_says_what_to_do(
    stub: Stub, prompt: str
) -> None:
    for ctx in (context(), context(HELLO, THANKS)):
        reply = await refine(stub, prompt, ctx)

        assert reply.intent == common_pb2.INTENT_CHAT
        assert reply.follow_up == common_pb2.FOLLOW_UP_UNSPECIFIED
        assert reply.reply == replies("reply.no_source", reply.lang)
        assert reply.lang == {"th": "vi", "do": "vi", "те": "uk", "ще": "uk"}.get(prompt[:2], "en")
        assert (reply.reply == NO_SOURCE_REPLY) is (reply.lang == "en")


@pytest.mark.parametrize(
    ("prompt", "intent"),
    [
        ("make it red", common_pb2.INTENT_GENERATE_IMAGE),
        ("make it anime", common_pb2.INTENT_CHAT),
        ("another one", common_pb2.INTENT_CHAT),
        ("show the car from all sides", common_pb2.INTENT_GENERATE_ANGLES),
    ],
)
async def test_without_a_context_nothing_is_a_follow_up(
    stub: Stub, prompt: str, intent: common_pb2.Intent.ValueType
) -> None:
    reply = await stub.Refine(prompt_service_pb2.RefineRequest(prompt=prompt))

    assert reply.intent == intent
    assert reply.follow_up == common_pb2.FOLLOW_UP_UNSPECIFIED
    assert reply.reply != NO_SOURCE_REPLY


@pytest.mark.parametrize(
    "prompt",
    [
        "more views",
        "more angles please",
        "show me more views",
        "give me more views of it",
        "some extra angles of the car",
        "add a few more views",
        "thêm góc nhìn",
        "cho mình xem thêm vài góc nữa",
        "them goc chup khac",
        "ще ракурси",
        "більше ракурсів",
        "покажи ще з інших боків",
        "додай кілька видів",
    ],
)
async def test_more_views_adds_the_views_not_drawn_yet(stub: Stub, prompt: str) -> None:
    reply = await refine(stub, prompt, context(CAT, CAR_VIEWS, THANKS))

    assert (reply.intent, reply.follow_up, reply.source_turn) == (
        common_pb2.INTENT_GENERATE_ANGLES,
        common_pb2.FOLLOW_UP_MORE_VIEWS,
        1,
    )
    assert list(reply.angles) == [S3, R3]  # front, side and rear are drawn already
    assert reply.subject == CLIO
    assert reply.reply == ""


@pytest.mark.parametrize(
    ("prompt", "angles"),
    [
        ("three more views", [S3, R3, TOP]),
        ("one more angle", [S3]),
        ("ще один ракурс", [S3]),
        ("thêm một góc nữa", [S3]),
        ("thêm bốn góc nữa", [S3, R3, TOP, RIGHT]),
    ],
)
async def test_a_number_of_more_views_is_that_many_new_ones(
    stub: Stub, prompt: str, angles: list[common_pb2.Angle.ValueType]
) -> None:
    reply = await refine(stub, prompt, context(CAR_VIEWS))

    assert reply.follow_up == common_pb2.FOLLOW_UP_MORE_VIEWS
    assert list(reply.angles) == angles


@pytest.mark.parametrize(
    ("prompt", "lang"),
    [
        ("show me more views", "en"),
        ("draw something", "en"),
        ("generate an image", "en"),
        ("front and rear", "en"),
        ("vẽ cho mình đi", "vi"),
        ("thêm góc nhìn", "vi"),
        ("намалюй щось", "uk"),
        ("більше ракурсів", "uk"),
    ],
)
async def test_nothing_to_draw_asks_what_to_draw(stub: Stub, prompt: str, lang: str) -> None:
    # No context (a caller that sends none) and nothing named: never a generic scene.
    reply = await stub.Refine(prompt_service_pb2.RefineRequest(prompt=prompt))

    assert reply.intent == common_pb2.INTENT_CHAT
    assert (reply.lang, reply.reply) == (lang, replies("reply.unknown", lang))
    assert list(reply.angles) == []
    assert "imaginative" not in reply.refined_prompt
    # With a context that has no picture yet, the follow-up's own answer says so.
    empty = await refine(stub, prompt, context(HELLO))
    assert empty.intent == common_pb2.INTENT_CHAT
    assert empty.reply in {replies("reply.unknown", lang), replies("reply.no_source", lang)}
