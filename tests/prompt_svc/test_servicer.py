"""PromptService over a real port: local analyser without a key, Gemini through a fake server,
the fallback when Gemini fails, and input rules."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf import json_format
from pydantic import SecretStr

from mesh.server import GrpcServer
from photofun.v1 import common_pb2, prompt_service_pb2, prompt_service_pb2_grpc
from prompt_svc import app
from prompt_svc.settings import Settings
from tests.conftest import StartServer
from tests.prompt_svc.fake_gemini import FakeGemini, answer, error
from tests.prompt_svc.test_gemini import GOOD
from tests.status import details_of

if TYPE_CHECKING:
    Stub = prompt_service_pb2_grpc.PromptServiceAsyncStub

MEDIA = "http://127.0.0.1:8090"
SEED_EXAMPLE = prompt_service_pb2.RefineRequest(
    prompt="I want a cute girl on the beach", style="anime", lang="en", topic="girl beach"
)


@pytest.fixture
async def gemini() -> AsyncIterator[FakeGemini]:
    fake = FakeGemini("test-key")
    async with fake.running():
        yield fake


@pytest.fixture
def serve(
    start_server: StartServer, channel_to: Callable[[GrpcServer], grpc.aio.Channel]
) -> Callable[..., object]:
    async def start(**settings: object) -> tuple[GrpcServer, Stub]:
        server = await start_server(app.build, Settings(media_service_url=MEDIA, **settings))  # type: ignore[arg-type]
        return server, prompt_service_pb2_grpc.PromptServiceStub(channel_to(server))

    return start


async def test_the_seed_example_works_without_a_key_through_grpcurl(
    serve: Callable[..., object], grpcurl: str
) -> None:
    server, _ = await serve()  # type: ignore[misc]
    body = json.dumps(
        {
            "prompt": "I want a cute girl on the beach",
            "style": "anime",
            "lang": "en",
            "topic": "girl beach",
        }
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [grpcurl, "-plaintext", "-d", body, server.address, "photofun.v1.PromptService/Refine"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["intent"] == "INTENT_GENERATE_IMAGE"
    assert {"anime", "girl", "beach"} <= set(
        reply["refinedPrompt"].lower().replace(",", " ").split()
    )
    assert reply["metadata"]["provider"] == "local"
    assert reply["metadata"]["fallbackReason"] == "GEMINI_NOT_CONFIGURED"
    assert reply["metadata"]["processingTime"].endswith("s")


async def test_with_a_key_gemini_answers(serve: Callable[..., object], gemini: FakeGemini) -> None:
    gemini.script(answer(GOOD))
    _, stub = await serve(gemini_api_key=SecretStr("test-key"), gemini_base_url=gemini.url)  # type: ignore[misc]
    reply = await stub.Refine(SEED_EXAMPLE)
    assert reply.metadata.provider == "gemini"
    assert reply.metadata.model == "gemini-3.5-flash-lite"  # the settings default
    assert not reply.metadata.fallback_used
    assert reply.refined_prompt == GOOD["refined_prompt"]
    assert reply.intent == common_pb2.INTENT_GENERATE_IMAGE
    assert len(gemini.received) == 1


async def test_when_gemini_fails_the_local_analyser_answers(
    serve: Callable[..., object], gemini: FakeGemini
) -> None:
    gemini.script(error(500, "INTERNAL", "boom"))
    _, stub = await serve(  # type: ignore[misc]
        gemini_api_key=SecretStr("test-key"), gemini_base_url=gemini.url, gemini_attempts=2
    )
    reply = await stub.Refine(
        prompt_service_pb2.RefineRequest(prompt="2019 Renault Clio blue hatchback, front side rear")
    )
    assert reply.metadata.provider == "local"
    assert reply.metadata.fallback_used
    assert reply.metadata.fallback_reason == "GEMINI_SERVER_ERROR"
    assert reply.intent == common_pb2.INTENT_GENERATE_ANGLES
    assert list(reply.angles) == [
        common_pb2.ANGLE_FRONT,
        common_pb2.ANGLE_SIDE,
        common_pb2.ANGLE_REAR,
    ]
    assert (reply.subject.brand, reply.subject.model, reply.subject.year) == (
        "Renault",
        "Clio",
        2019,
    )
    assert (reply.subject.color, reply.subject.body_type) == ("blue", "hatchback")
    assert len(gemini.received) == 2


async def test_a_short_caller_deadline_still_gets_the_fallback(
    serve: Callable[..., object], gemini: FakeGemini
) -> None:
    gemini.script(answer(GOOD))
    gemini.script(*[answer(GOOD)])
    slow = answer(GOOD)
    gemini.script(type(slow)(status=slow.status, body=slow.body, delay=5))
    _, stub = await serve(gemini_api_key=SecretStr("test-key"), gemini_base_url=gemini.url)  # type: ignore[misc]
    reply = await stub.Refine(SEED_EXAMPLE, timeout=1.0)
    assert reply.metadata.provider == "local"
    assert reply.metadata.fallback_reason == "GEMINI_DEADLINE"


async def test_detect_intent_needs_the_image_for_image_intents(
    serve: Callable[..., object],
) -> None:
    _, stub = await serve()  # type: ignore[misc]
    with_image = await stub.DetectIntent(
        prompt_service_pb2.DetectIntentRequest(
            prompt="make it anime", image_url=MEDIA + "/api/v1/files/x.png"
        )
    )
    assert with_image.intent == common_pb2.INTENT_STYLE_TRANSFER
    assert 0 < with_image.confidence <= 1
    chat = await stub.DetectIntent(prompt_service_pb2.DetectIntentRequest(prompt="xin chào!"))
    assert (chat.intent, chat.lang) == (common_pb2.INTENT_CHAT, "vi")


TURN_URL = MEDIA + "/api/v1/files/t.png"


def turns(count: int, **overrides: object) -> dict[str, object]:
    """A context of `count` small turns; `overrides` replace fields of the last one."""
    base: dict[str, object] = {"prompt": "a cat", "intent": "INTENT_GENERATE_IMAGE"}
    return {"turns": [*([base] * (count - 1)), {**base, **overrides}]}


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * 2001}, "prompt"),
        ({"prompt": "a cat", "lang": "fr"}, "lang"),
        ({"prompt": "make it anime", "image_url": "http://169.254.169.254/x.png"}, "image_url"),
        ({"prompt": "make it anime", "image_url": "file:///etc/passwd"}, "image_url"),
        ({"prompt": "again", "context": turns(9)}, "context.turns"),
        ({"prompt": "again", "context": turns(4, prompt="x" * 2001)}, "context.turns[3].prompt"),
        (
            {"prompt": "again", "context": turns(2, refined_prompt="y" * 2001)},
            "context.turns[1].refined_prompt",
        ),
        (
            {"prompt": "again", "context": turns(1, subject={"text": "z" * 2001})},
            "context.turns[0].subject.text",
        ),
        (
            {"prompt": "again", "context": turns(3, session_id="s" * 2001)},
            "context.turns[2].session_id",
        ),
        (
            {"prompt": "again", "context": turns(1, image_urls=[TURN_URL] * 10)},
            "context.turns[0].image_urls",
        ),
        (
            {"prompt": "again", "context": turns(2, image_urls=[TURN_URL, "h" * 2049])},
            "context.turns[1].image_urls[1]",
        ),
    ],
)
async def test_bad_input_names_the_field(
    serve: Callable[..., object], request_fields: dict[str, object], field: str
) -> None:
    _, stub = await serve()  # type: ignore[misc]
    requests = (
        (stub.Refine, prompt_service_pb2.RefineRequest()),
        (stub.DetectIntent, prompt_service_pb2.DetectIntentRequest()),
    )
    for call, request in requests:
        names = request.DESCRIPTOR.fields_by_name
        json_format.ParseDict({k: v for k, v in request_fields.items() if k in names}, request)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(request)
        got = details_of(caught.value)
        assert (got.code, got.field) == (grpc.StatusCode.INVALID_ARGUMENT, field)
        assert field in got.message


async def test_a_context_at_its_caps_is_accepted_and_its_urls_are_not_checked(
    serve: Callable[..., object],
) -> None:
    # Context URLs are never fetched, so any string within the cap passes (unlike image_url).
    full = {
        "prompt": "p" * 2000,
        "intent": "INTENT_GENERATE_IMAGE",
        "refined_prompt": "r" * 2000,
        "subject": {"text": "t" * 2000, "category": "animal"},
        "image_urls": ["http://elsewhere.example/" + "u" * 2023] * 9,
    }
    request = prompt_service_pb2.RefineRequest(prompt="another one")
    json_format.ParseDict({"context": {"turns": [full] * 8}}, request)
    _, stub = await serve()  # type: ignore[misc]
    reply = await stub.Refine(request)
    assert len(full["image_urls"][0]) == 2048  # type: ignore[index]
    assert reply.follow_up == common_pb2.FOLLOW_UP_VARIATION
    assert reply.source_turn == 7


async def test_gemini_gets_the_context_as_history_and_its_follow_up_comes_back(
    serve: Callable[..., object], gemini: FakeGemini
) -> None:
    gemini.script(answer({**GOOD, "follow_up": "variation", "source_turn": 0}))
    _, stub = await serve(gemini_api_key=SecretStr("test-key"), gemini_base_url=gemini.url)  # type: ignore[misc]
    request = prompt_service_pb2.RefineRequest(prompt="another one")
    json_format.ParseDict(
        {
            "context": {
                "turns": [
                    {
                        "prompt": "a cute girl on the beach",
                        "intent": "INTENT_GENERATE_IMAGE",
                        "subject": {"text": "cute girl on the beach", "category": "person"},
                        "image_urls": [TURN_URL],
                    }
                ]
            }
        },
        request,
    )
    reply = await stub.Refine(request)

    assert reply.metadata.provider == "gemini"
    assert (reply.follow_up, reply.source_turn) == (common_pb2.FOLLOW_UP_VARIATION, 0)
    [received] = gemini.received
    assert received.history == [
        ("user", {"turn": 0, "prompt": "a cute girl on the beach"}),
        (
            "model",
            {
                "turn": 0,
                "intent": "generateImage",
                "subject": {"text": "cute girl on the beach", "category": "person"},
                "images": 1,
            },
        ),
    ]
    assert received.user_document["prompt"] == "another one"


@pytest.mark.parametrize(
    "prompt", ["draw " + "a very very big fluffy orange cat, " * 20, "\ufdfa" * 2000]
)
async def test_what_the_local_analyser_derives_fits_the_image_service(
    serve: Callable[..., object], prompt: str
) -> None:
    _, stub = await serve()  # type: ignore[misc]
    reply = await stub.Refine(prompt_service_pb2.RefineRequest(prompt=prompt))
    assert len(reply.refined_prompt) <= 4000
    for name in ("text", "category", "brand", "model", "color", "body_type"):
        assert len(getattr(reply.subject, name)) <= 500, name


async def test_what_gemini_answers_is_cut_to_fit_too(
    serve: Callable[..., object], gemini: FakeGemini
) -> None:
    huge = {
        **GOOD,
        "refined_prompt": "sunset " * 2000,
        "subject": {**GOOD["subject"], "text": "girl " * 400, "year": 3000},
        "keywords": ["k" * 500] * 100,
    }
    gemini.script(answer(huge))
    _, stub = await serve(gemini_api_key=SecretStr("test-key"), gemini_base_url=gemini.url)  # type: ignore[misc]
    reply = await stub.Refine(SEED_EXAMPLE)
    assert reply.metadata.provider == "gemini"
    assert 0 < len(reply.refined_prompt) <= 4000
    assert 0 < len(reply.subject.text) <= 500
    assert reply.subject.year == 0  # not a plausible model year: dropped, not refused later
    assert len(reply.keywords) <= 32
    assert all(len(k) <= 100 for k in reply.keywords)


async def test_an_image_url_with_line_breaks_is_refused(serve: Callable[..., object]) -> None:
    _, stub = await serve()  # type: ignore[misc]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Refine(
            prompt_service_pb2.RefineRequest(
                prompt="make it anime", image_url=MEDIA + "/api/v1/files/a.png\r\nX: 1"
            )
        )
    got = details_of(caught.value)
    assert (got.code, got.field) == (grpc.StatusCode.INVALID_ARGUMENT, "image_url")
