"""The prompt service answers in the user's language, on a real port, locally and with Gemini."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from pydantic import SecretStr

from mesh.i18n import replies
from mesh.server import GrpcServer
from photofun.v1 import common_pb2, prompt_service_pb2, prompt_service_pb2_grpc
from prompt_svc import app
from prompt_svc.settings import Settings
from tests.conftest import StartServer
from tests.prompt_svc.fake_gemini import FakeGemini, answer
from tests.prompt_svc.test_gemini import GOOD

if TYPE_CHECKING:
    Stub = prompt_service_pb2_grpc.PromptServiceAsyncStub

MEDIA = "http://127.0.0.1:8090"


@pytest.fixture
async def gemini() -> AsyncIterator[FakeGemini]:
    fake = FakeGemini("test-key")
    async with fake.running():
        yield fake


@pytest.fixture
def serve(
    start_server: StartServer, channel_to: Callable[[GrpcServer], grpc.aio.Channel]
) -> Callable[..., Any]:
    async def start(**settings: object) -> Stub:
        server = await start_server(app.build, Settings(media_service_url=MEDIA, **settings))  # type: ignore[arg-type]
        return prompt_service_pb2_grpc.PromptServiceStub(channel_to(server))

    return start


# What the issue tried as a new user would, and a few more: (prompt, language, reply key).
SMALL_TALK = [
    ("bạn có thể làm được những gì?", "vi", "reply.question"),
    ("що ти вмієш?", "uk", "reply.question"),
    ("xóa phông nền", "vi", "reply.attach.editBackground"),
    ("прибери фон", "uk", "reply.attach.editBackground"),
    ("cảm ơn nhé", "vi", "reply.thanks"),
    ("дякую!", "uk", "reply.thanks"),
    ("xin chào", "vi", "reply.greet"),
    ("thanks!", "en", "reply.thanks"),
    # Who the assistant is: a question, not a picture of "AI" (Vietnamese "ai" is "who").
    ("bạn là ai?", "vi", "reply.question"),
    ("ban la ai vay", "vi", "reply.question"),
    ("cậu là ai thế?", "vi", "reply.question"),
    ("хто ти?", "uk", "reply.question"),
    ("who are you?", "en", "reply.question"),
]


async def test_the_local_analyser_replies_in_the_language_of_the_message(
    serve: Callable[..., Any],
) -> None:
    stub = await serve()
    for prompt, lang, key in SMALL_TALK:
        reply = await stub.Refine(prompt_service_pb2.RefineRequest(prompt=prompt))

        assert reply.intent == common_pb2.INTENT_CHAT, prompt
        assert (reply.lang, reply.reply) == (lang, replies(key, lang)), prompt


async def test_the_language_the_caller_set_wins(serve: Callable[..., Any]) -> None:
    stub = await serve()
    reply = await stub.Refine(prompt_service_pb2.RefineRequest(prompt="thanks!", lang="uk"))

    assert reply.lang == "uk"
    assert reply.reply == replies("reply.thanks", "uk")


F, REAR = common_pb2.ANGLE_FRONT, common_pb2.ANGLE_REAR
# (prompt, the caller's lang, what the prompt must be read as): the text's own language wins
# when it is unmistakable, whatever the hint says; the hint only picks the reply language.
READ_IN_ITS_OWN_LANGUAGE = [
    ("vẽ cho tôi chiếc xe Toyota Camry màu đỏ, góc trước và góc sau", "uk"),
    ("ve cho toi chiec xe Toyota Camry mau do, goc truoc va goc sau", "uk"),
    ("vẽ chiếc Toyota Camry đỏ từ phía trước và phía sau", "en"),
    ("намалюй червону Toyota Camry спереду і ззаду", "vi"),
    ("намалюй червону Toyota Camry спереду і ззаду", "en"),
    ("a red Toyota Camry, front and rear", "vi"),
    ("a red Toyota Camry, front and rear", "uk"),
]


@pytest.mark.parametrize(("prompt", "hint"), READ_IN_ITS_OWN_LANGUAGE)
async def test_the_hint_does_not_change_how_an_unmistakable_prompt_is_read(
    serve: Callable[..., Any], prompt: str, hint: str
) -> None:
    stub = await serve()
    plain = await stub.Refine(prompt_service_pb2.RefineRequest(prompt=prompt))
    hinted = await stub.Refine(prompt_service_pb2.RefineRequest(prompt=prompt, lang=hint))
    detected = await stub.DetectIntent(
        prompt_service_pb2.DetectIntentRequest(prompt=prompt, lang=hint)
    )

    assert (hinted.intent, list(hinted.angles)) == (common_pb2.INTENT_GENERATE_ANGLES, [F, REAR])
    assert (hinted.subject.brand, hinted.subject.model, hinted.subject.color) == (
        "Toyota",
        "Camry",
        "red",
    )
    # Read exactly as without the hint: same prompt for the image model, same keywords.
    assert hinted.refined_prompt == plain.refined_prompt
    assert list(hinted.keywords) == list(plain.keywords)
    assert not {"vẽ", "tôi", "намалюй"} & set(hinted.keywords)
    # The hint is the language of the answer.
    assert hinted.lang == detected.lang == hint
    assert detected.intent == common_pb2.INTENT_GENERATE_ANGLES


@pytest.mark.parametrize(
    ("prompt", "hint", "key"),
    [
        ("cảm ơn nhé", "uk", "reply.thanks"),
        ("дякую!", "vi", "reply.thanks"),
        ("xóa phông nền", "en", "reply.attach.editBackground"),
        ("прибери фон", "vi", "reply.attach.editBackground"),
        ("remove the background", "uk", "reply.attach.editBackground"),
        ("vẽ đi", "uk", "reply.unknown"),
    ],
)
async def test_a_prompt_read_in_its_language_is_answered_in_the_hint(
    serve: Callable[..., Any], prompt: str, hint: str, key: str
) -> None:
    stub = await serve()
    reply = await stub.Refine(prompt_service_pb2.RefineRequest(prompt=prompt, lang=hint))

    assert reply.intent == common_pb2.INTENT_CHAT
    assert (reply.lang, reply.reply) == (hint, replies(key, hint))


@pytest.mark.parametrize("hint", ["en", "vi", "uk"])
async def test_a_prompt_that_does_not_tell_its_language_is_read_in_the_hint(
    serve: Callable[..., Any], hint: str
) -> None:
    # "hello" and "ok" are words of both English and Vietnamese; a make and a model name
    # no language: the hint decides, for the reading and the reply.
    stub = await serve()
    hello = await stub.Refine(prompt_service_pb2.RefineRequest(prompt="hello", lang=hint))
    car = await stub.Refine(prompt_service_pb2.RefineRequest(prompt="Toyota Camry", lang=hint))

    assert (hello.intent, hello.lang) == (common_pb2.INTENT_CHAT, hint)
    assert hello.reply == replies("reply.greet", hint)
    assert (car.intent, car.lang, car.subject.model) == (
        common_pb2.INTENT_GENERATE_IMAGE,
        hint,
        "Camry",
    )


async def test_english_words_with_a_vietnamese_hint_are_read_as_english(
    serve: Callable[..., Any],
) -> None:
    # Read with the Vietnamese lexicon first, "make a watercolor painting of a cat" lost its
    # request (chat). English-only words with no Vietnamese-only one are English whatever the
    # hint; a text whose words both languages have ("upscale to 4k": "to" is "tô") is read
    # in the hint's language, as documented.
    stub = await serve()
    prompt = "make a watercolor painting of a cat"
    plain = await stub.Refine(prompt_service_pb2.RefineRequest(prompt=prompt))
    hinted = await stub.Refine(prompt_service_pb2.RefineRequest(prompt=prompt, lang="vi"))

    assert hinted.intent == plain.intent == common_pb2.INTENT_GENERATE_IMAGE
    assert hinted.refined_prompt == plain.refined_prompt
    assert (plain.lang, hinted.lang) == ("en", "vi")


def chat(reply: str, lang: str) -> dict[str, Any]:
    """Gemini's answer to a chat message, with this reply."""
    return {**GOOD, "intent": "chat", "lang": lang, "reply": reply, "refined_prompt": "hello"}


async def test_gemini_is_told_to_reply_in_the_users_language_and_its_reply_is_kept(
    serve: Callable[..., Any], gemini: FakeGemini
) -> None:
    said = "Chào bạn! Hãy mô tả bức ảnh bạn muốn vẽ nhé."
    gemini.script(answer(chat(said, "vi")))
    stub = await serve(gemini_api_key=SecretStr("test-key"), gemini_base_url=gemini.url)
    reply = await stub.Refine(prompt_service_pb2.RefineRequest(prompt="xin chào"))

    assert reply.metadata.provider == "gemini"
    assert reply.reply == said
    instruction = json.dumps(gemini.received[0].body["systemInstruction"], ensure_ascii=False)
    assert "user's language" in instruction


# (prompt, lang set by the caller, Gemini's reply in another language, the catalogue's key)
MISMATCHED = [
    ("xin chào", "", "Hello! Describe the picture you want.", "reply.greet"),
    ("cảm ơn nhé", "", "You're welcome!", "reply.thanks"),
    ("привіт", "", "Chào bạn! Bạn muốn vẽ gì?", "reply.greet"),
    # The caller set Ukrainian; Gemini answered in English about an English message.
    ("thanks!", "uk", "You're welcome!", "reply.thanks"),
]


async def test_a_gemini_reply_in_another_language_gives_way_to_the_catalogue(
    serve: Callable[..., Any], gemini: FakeGemini
) -> None:
    stub = await serve(gemini_api_key=SecretStr("test-key"), gemini_base_url=gemini.url)
    for prompt, lang, said, key in MISMATCHED:
        wanted = lang or ("uk" if prompt == "привіт" else "vi")
        gemini.script(answer(chat(said, wanted)))
        reply = await stub.Refine(prompt_service_pb2.RefineRequest(prompt=prompt, lang=lang))

        assert reply.metadata.provider == "gemini"
        assert not reply.metadata.fallback_used  # the analysis is Gemini's; only its words changed
        assert reply.reply == replies(key, wanted), prompt


async def test_a_chat_the_local_analyser_has_no_words_for_gets_the_catalogues_answer(
    serve: Callable[..., Any], gemini: FakeGemini
) -> None:
    # Gemini reads a drawing request as chat and answers in English; the local analyser would
    # draw (no reply of its own), so the catalogue's "not sure" answer stands in.
    gemini.script(answer(chat("Sure, what colour?", "vi")))
    stub = await serve(gemini_api_key=SecretStr("test-key"), gemini_base_url=gemini.url)
    reply = await stub.Refine(prompt_service_pb2.RefineRequest(prompt="vẽ một con mèo"))

    assert reply.intent == common_pb2.INTENT_CHAT
    assert reply.reply == replies("reply.unknown", "vi")


# (prompt, the language Gemini wrongly labels it, Gemini's reply in that language, the key,
# the prompt's language)
MISLABELLED = [
    ("cảm ơn nhé", "en", "You're welcome!", "reply.thanks", "vi"),  # Vietnamese letters
    ("cam on nhe", "en", "You're welcome!", "reply.thanks", "vi"),  # Vietnamese words, no marks
    ("дякую", "en", "You're welcome!", "reply.thanks", "uk"),  # Cyrillic
    ("привіт", "vi", "Chào bạn! Bạn muốn vẽ gì?", "reply.greet", "uk"),
]


async def test_gemini_labelling_the_prompt_in_its_replys_language_does_not_fool_the_check(
    serve: Callable[..., Any], gemini: FakeGemini
) -> None:
    """The reply is checked against the prompt's own language when the local detection is sure
    of it, not against the ``lang`` Gemini gave (which is wrong along with its reply)."""
    stub = await serve(gemini_api_key=SecretStr("test-key"), gemini_base_url=gemini.url)
    for prompt, labelled, said, key, lang in MISLABELLED:
        gemini.script(answer(chat(said, labelled)))
        reply = await stub.Refine(prompt_service_pb2.RefineRequest(prompt=prompt))

        assert reply.metadata.provider == "gemini"
        assert reply.reply == replies(key, lang), prompt
        assert reply.lang == lang, prompt  # what the pipeline then writes is in it too


async def test_an_english_prompt_keeps_geminis_label_and_reply(
    serve: Callable[..., Any], gemini: FakeGemini
) -> None:
    """Plain English text is not proof against a Vietnamese label (Vietnamese is often typed
    without marks): Gemini's reading stands, and its reply in that language is kept."""
    said = "Không có gì! Bạn muốn vẽ gì tiếp?"
    gemini.script(answer(chat(said, "vi")))
    stub = await serve(gemini_api_key=SecretStr("test-key"), gemini_base_url=gemini.url)
    reply = await stub.Refine(prompt_service_pb2.RefineRequest(prompt="thanks"))

    assert (reply.reply, reply.lang) == (said, "vi")
