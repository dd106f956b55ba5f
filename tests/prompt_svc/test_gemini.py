"""GeminiRefiner with the real google-genai SDK against a fake Gemini server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from structlog.testing import capture_logs

from mesh.circuit import CircuitBreaker
from mesh.vocabulary import LANGUAGES
from prompt_svc.gemini import (
    DEFAULT_MODEL,
    GEMINI_BAD_RESPONSE,
    GEMINI_BLOCKED,
    GEMINI_CIRCUIT_OPEN,
    GEMINI_CLIENT_ERROR,
    GEMINI_RATE_LIMITED,
    GEMINI_SERVER_ERROR,
    GEMINI_TIMEOUT,
    GEMINI_UNREACHABLE,
    TEXT_MODELS,
    AngleName,
    GeminiAnalysis,
    GeminiFailure,
    GeminiRefiner,
    UnknownModel,
    text_model,
)
from prompt_svc.intents import ANGLES, Context, FollowUp, Intent, Subject, Turn
from prompt_svc.settings import Settings
from tests.prompt_svc.fake_gemini import (
    FakeGemini,
    Reply,
    answer,
    blocked,
    error,
    rate_limited,
)

API_KEY = "AIza-test-key-7f3c9d"
ROOT = Path(__file__).resolve().parents[2]

GOOD: dict[str, Any] = {
    "intent": "generateImage",
    "refined_prompt": "cute anime girl standing on a sunny beach, golden sunset, soft lighting",
    "keywords": ["Anime", "girl", "beach", "anime", " sunset "],
    "subject": {
        "text": "anime girl",
        "category": "person",
        "brand": "",
        "model": "",
        "year": 0,
        "color": "",
        "body_type": "",
    },
    "angles": [],
    "lang": "en",
    "confidence": 0.93,
    "reply": "",
}


def state(breaker: CircuitBreaker) -> str:
    """The state, read afresh (mypy would otherwise keep an earlier narrowing)."""
    return breaker.state


def good(**changes: Any) -> dict[str, Any]:
    """The GOOD answer with some fields replaced."""
    return {**GOOD, **changes}


class Refiners:
    """Builds refiners pointed at the fake and closes them after the test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[GeminiRefiner] = []

    def __call__(self, **options: Any) -> GeminiRefiner:
        options.setdefault("base_url", self.url)
        options.setdefault("timeout", 2.0)
        options.setdefault("max_retry_delay", 0.05)
        options.setdefault("api_key", API_KEY)
        refiner = GeminiRefiner(**options)
        self.made.append(refiner)
        return refiner


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(API_KEY).running() as server:
        yield server


@pytest.fixture
async def refiners(fake: FakeGemini) -> AsyncIterator[Refiners]:
    made = Refiners(fake.url)
    yield made
    for refiner in made.made:
        await refiner.aclose()


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def failure_of(refiner: GeminiRefiner, prompt: str = "a red car") -> GeminiFailure:
    with pytest.raises(GeminiFailure) as caught:
        await refiner.analyze(prompt)
    return caught.value


def test_schema_names_match_the_domain() -> None:
    assert get_args(AngleName) == ANGLES
    properties = GeminiAnalysis.model_json_schema()["properties"]
    assert properties["intent"]["enum"] == [intent.value for intent in Intent]
    # In place, not a $ref: google-genai would replace the field's description with the enum's.
    assert properties["lang"] == {
        "type": "string",
        "enum": list(LANGUAGES),
        "description": "Language the prompt is written in.",
    }


async def test_success_maps_fields_and_sends_the_contract(
    fake: FakeGemini, refiners: Refiners
) -> None:
    fake.script(answer(GOOD))
    analysis = await refiners().analyze(
        "I want a cute girl on the beach", style="anime", lang="en", topic="girl beach"
    )

    assert analysis.intent is Intent.GENERATE_IMAGE
    assert analysis.refined_prompt == GOOD["refined_prompt"]
    assert analysis.keywords == ("anime", "girl", "beach", "sunset")
    assert analysis.subject == Subject(text="anime girl", category="person")
    assert analysis.confidence == pytest.approx(0.93)
    assert analysis.lang == "en"
    assert analysis.angles == ()
    assert analysis.untranslated_terms == ()

    [request] = fake.received
    assert request.version == "v1beta"  # the version whose definition has the fields sent
    assert request.model == "gemini-3.5-flash-lite"
    assert request.headers["x-goog-api-key"] == API_KEY
    assert request.user_document == {
        "prompt": "I want a cute girl on the beach",
        "style": "anime",
        "lang": "en",
        "topic": "girl beach",
        "has_image": False,
    }
    instruction = request.body["systemInstruction"]["parts"][0]["text"]
    assert "generateAngles" in instruction
    assert "rear_three_quarter" in instruction
    config = request.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    # No sampling parameters: Gemini 3 models are meant to run at their default temperature.
    assert not {"temperature", "topP", "topK"} & set(config)
    schema = config["responseSchema"]
    assert set(schema["properties"]["intent"]["enum"]) == {intent.value for intent in Intent}
    assert schema["properties"]["angles"]["items"]["enum"] == list(ANGLES)
    assert schema["properties"]["lang"]["enum"] == list(LANGUAGES)
    assert "subject" in schema["required"]


@pytest.mark.parametrize(
    ("options", "retired", "status", "said"),
    [
        # A model of the table that Google shuts down while the service runs.
        ({}, "gemini-2.5-flash", "NOT_FOUND", "is not found for API version v1beta"),
        ({"api_key": "AIzaWrongKey"}, None, "INVALID_ARGUMENT", "API key not valid"),
    ],
)
async def test_what_the_real_api_refuses_is_a_client_error(
    fake: FakeGemini,
    refiners: Refiners,
    options: dict[str, str],
    retired: str | None,
    status: str,
    said: str,
) -> None:
    fake.script(answer(GOOD))
    refiner = refiners(**options)
    if retired is not None:
        refiner.model = retired
    failure = await failure_of(refiner)
    assert failure.reason == GEMINI_CLIENT_ERROR
    assert status in failure.message
    assert said in failure.message
    assert failure.attempts == 1  # a refusal is not retried
    assert fake.received == []
    assert len(fake.refused) == 1


@pytest.mark.parametrize(
    "model", ["gemini-2.5-flash", "gemini-2.0-flash", "gemini-3.1-flash-image"]
)
def test_a_model_outside_the_table_is_refused_when_built(model: str) -> None:
    with pytest.raises(UnknownModel, match=f"GEMINI_MODEL: '{model}' is not a Gemini text model"):
        GeminiRefiner(api_key=API_KEY, model=model)


@pytest.mark.parametrize("model", sorted(TEXT_MODELS))
async def test_every_model_of_the_table_is_accepted_by_the_strict_fake(
    fake: FakeGemini, refiners: Refiners, model: str
) -> None:
    fake.script(answer(GOOD))
    analysis = await refiners(model=model).analyze("a red car")
    assert analysis.intent is Intent.GENERATE_IMAGE
    assert [r.model for r in fake.received] == [model]
    assert fake.refused == []


def test_the_default_model_is_in_the_table() -> None:
    assert DEFAULT_MODEL in TEXT_MODELS
    assert text_model(Settings().gemini_model) == DEFAULT_MODEL


async def test_a_retired_gemini_model_stops_the_service_with_one_line(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "GEMINI_API_KEY": API_KEY,
        "GEMINI_MODEL": "gemini-2.5-flash",
        "JWT_SECRET": "s" * 40,
        "PROMPT_SVC_PORT": "0",
        "PROMPT_SVC_METRICS_PORT": "0",
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "prompt_svc"],
        cwd=tmp_path,  # no stray .env
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "prompt_svc: cannot start: GEMINI_MODEL: 'gemini-2.5-flash' is not a Gemini text model"
        " prompt_svc knows (retired, or never checked); known: " + ", ".join(sorted(TEXT_MODELS))
    ]


async def test_the_strict_fake_refuses_the_v1_api_the_old_client_used(fake: FakeGemini) -> None:
    # The request the refiner sent before this change: the v1 API has no systemInstruction.
    body = {
        "contents": [{"role": "user", "parts": [{"text": "{}"}]}],
        "systemInstruction": {"parts": [{"text": "answer JSON"}]},
        "generationConfig": {"responseMimeType": "application/json", "temperature": 0.2},
    }
    async with httpx.AsyncClient() as client:
        reply = await client.post(
            f"{fake.url}/v1/models/gemini-3.5-flash-lite:generateContent",
            json=body,
            headers={"x-goog-api-key": API_KEY},
        )
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith('Invalid JSON payload received. Unknown name "systemIns')


async def test_vehicle_views_are_cleaned(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(
        answer(
            good(
                intent="generateAngles",
                refined_prompt="red 2019 toyota corolla hatchback, studio, soft light",
                keywords=["Toyota", "corolla", "TOYOTA", ""],
                subject={
                    "text": "red Toyota Corolla",
                    "category": "vehicle",
                    "brand": "Toyota",
                    "model": "Corolla ",
                    "year": 20190,
                    "color": "Red",
                    "body_type": "Hatchback",
                },
                angles=["front", "underneath", "side", "front"],
                lang="vi",
                confidence=1.7,
            )
        )
    )
    analysis = await refiners().analyze("cho tôi xem xe corolla đỏ từ trước và bên hông")

    assert analysis.intent is Intent.GENERATE_ANGLES
    assert analysis.angles == ("front", "side")
    assert analysis.keywords == ("toyota", "corolla")
    assert analysis.subject == Subject(
        text="red Toyota Corolla",
        category="vehicle",
        brand="toyota",
        model="corolla",
        year=0,
        color="red",
        body_type="hatchback",
    )
    assert analysis.confidence == 1.0
    assert analysis.lang == "vi"


async def test_image_intent_without_an_image_is_redirected(
    fake: FakeGemini, refiners: Refiners
) -> None:
    fake.script(answer(good(intent="styleTransfer", reply="")))
    analysis = await refiners().analyze("make it anime", has_image=False)

    assert analysis.intent is Intent.GENERATE_IMAGE
    assert "image" in analysis.reply.lower()


async def test_malformed_json_is_a_bad_response(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(answer('{"intent": "generateImage", "refined_prompt": '))
    failure = await failure_of(refiners())

    assert failure.reason == GEMINI_BAD_RESPONSE
    assert len(fake.received) == 1  # never retried


async def test_schema_mismatch_is_a_bad_response(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(answer(good(intent="paintHouse")))
    failure = await failure_of(refiners())

    assert failure.reason == GEMINI_BAD_RESPONSE
    assert len(fake.received) == 1


async def test_safety_block_is_blocked(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(blocked("SAFETY"))
    failure = await failure_of(refiners())

    assert failure.reason == GEMINI_BLOCKED
    assert "SAFETY" in failure.message
    assert len(fake.received) == 1


async def test_safety_finish_reason_is_blocked(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(answer("", finish="SAFETY"))
    failure = await failure_of(refiners())

    assert failure.reason == GEMINI_BLOCKED


async def test_rate_limit_honours_retry_info(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(rate_limited("1.5s"), answer(GOOD))
    refiner = refiners(max_retry_delay=10.0)
    analysis = await refiner.analyze("a red car")

    assert analysis.intent is Intent.GENERATE_IMAGE
    first, second = fake.received
    assert 1.4 <= second.at - first.at < 2.5


async def test_rate_limit_honours_retry_after_header(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(rate_limited(headers={"Retry-After": "1"}), answer(GOOD))
    await refiners(max_retry_delay=10.0).analyze("a red car")

    first, second = fake.received
    assert 0.9 <= second.at - first.at < 2.0


async def test_rate_limit_longer_than_allowed_fails_at_once(
    fake: FakeGemini, refiners: Refiners
) -> None:
    fake.script(rate_limited("37s"), answer(GOOD))
    started = time.monotonic()
    failure = await failure_of(refiners(max_retry_delay=2.0))

    assert failure.reason == GEMINI_RATE_LIMITED
    assert failure.attempts == 1
    assert len(fake.received) == 1
    assert time.monotonic() - started < 10.0  # far from the 37 s asked: it did not wait


async def test_rate_limit_every_time_is_bounded(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(rate_limited("0.05s"))
    failure = await failure_of(refiners(attempts=3))

    assert failure.reason == GEMINI_RATE_LIMITED
    assert failure.attempts == 3
    assert len(fake.received) == 3


async def test_server_error_then_success(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(error(500, "INTERNAL", "An internal error has occurred."), answer(GOOD))
    analysis = await refiners().analyze("a red car")

    assert analysis.intent is Intent.GENERATE_IMAGE
    assert len(fake.received) == 2


async def test_server_error_every_time_is_bounded(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(error(503, "UNAVAILABLE", "The model is overloaded."))
    failure = await failure_of(refiners(attempts=3))

    assert failure.reason == GEMINI_SERVER_ERROR
    assert failure.attempts == 3
    assert "503" in failure.message
    assert len(fake.received) == 3


async def test_client_error_is_not_retried(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."), answer(GOOD))
    failure = await failure_of(refiners(attempts=3))

    assert failure.reason == GEMINI_CLIENT_ERROR
    assert failure.attempts == 1
    assert len(fake.received) == 1


async def test_wrong_key_is_a_client_error(fake: FakeGemini) -> None:
    refiner = GeminiRefiner(api_key="AIza-wrong", base_url=fake.url, timeout=2.0)
    try:
        failure = await failure_of(refiner)
    finally:
        await refiner.aclose()

    assert failure.reason == GEMINI_CLIENT_ERROR
    assert "API key not valid" in failure.message


async def test_the_key_never_reaches_messages_or_logs(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(error(403, "PERMISSION_DENIED", f"Key {API_KEY} is not allowed for this model."))
    with capture_logs() as logs:
        failure = await failure_of(refiners())

    assert failure.reason == GEMINI_CLIENT_ERROR
    assert API_KEY not in str(failure)
    assert "[redacted]" in failure.message
    assert any(entry["event"] == "gemini.failed" for entry in logs)
    assert API_KEY not in repr(logs)


async def test_timeout_is_fast(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(Reply(body=answer(GOOD).body, delay=5.0))
    started = time.monotonic()
    failure = await failure_of(refiners(timeout=0.3, attempts=2))

    assert failure.reason == GEMINI_TIMEOUT
    assert failure.attempts == 2
    assert len(fake.received) == 2
    assert time.monotonic() - started < 4.5  # two 0.3 s timeouts, never one 5 s answer


async def test_connection_refused_fails_fast(dead_port: int) -> None:
    refiner = GeminiRefiner(api_key=API_KEY, base_url=f"http://127.0.0.1:{dead_port}", timeout=30)
    started = time.monotonic()
    try:
        failure = await failure_of(refiner)
    finally:
        await refiner.aclose()

    assert failure.reason == GEMINI_UNREACHABLE
    assert time.monotonic() - started < 10.0  # refused at once, not after the 30 s timeout
    assert API_KEY not in str(failure)


async def test_circuit_opens_then_spares_the_server(fake: FakeGemini, refiners: Refiners) -> None:
    now = [1000.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_after=30.0, clock=lambda: now[0])
    refiner = refiners(breaker=breaker, attempts=1)
    fake.script(error(500, "INTERNAL", "boom"))

    assert (await failure_of(refiner)).reason == GEMINI_SERVER_ERROR
    assert (await failure_of(refiner)).reason == GEMINI_SERVER_ERROR
    assert state(breaker) == "open"
    failure = await failure_of(refiner)

    assert failure.reason == GEMINI_CIRCUIT_OPEN
    assert len(fake.received) == 2  # the open circuit answered without calling the server


async def test_half_open_trial_success_closes(fake: FakeGemini, refiners: Refiners) -> None:
    now = [1000.0]
    breaker = CircuitBreaker(failure_threshold=1, reset_after=30.0, clock=lambda: now[0])
    refiner = refiners(breaker=breaker, attempts=1)
    fake.script(error(500, "INTERNAL", "boom"))
    await failure_of(refiner)
    assert state(breaker) == "open"

    now[0] += 30.0
    assert state(breaker) == "half_open"
    fake.script(answer(GOOD))
    analysis = await refiner.analyze("a red car")

    assert analysis.intent is Intent.GENERATE_IMAGE
    assert state(breaker) == "closed"
    assert len(fake.received) == 2


async def test_half_open_trial_failure_reopens(fake: FakeGemini, refiners: Refiners) -> None:
    now = [1000.0]
    breaker = CircuitBreaker(failure_threshold=1, reset_after=30.0, clock=lambda: now[0])
    refiner = refiners(breaker=breaker, attempts=1)
    fake.script(error(500, "INTERNAL", "boom"))
    await failure_of(refiner)
    now[0] += 30.0

    assert (await failure_of(refiner)).reason == GEMINI_SERVER_ERROR
    assert state(breaker) == "open"
    assert (await failure_of(refiner)).reason == GEMINI_CIRCUIT_OPEN
    assert len(fake.received) == 2


async def test_safety_blocks_do_not_open_the_circuit(fake: FakeGemini, refiners: Refiners) -> None:
    breaker = CircuitBreaker(failure_threshold=1)
    refiner = refiners(breaker=breaker)
    fake.script(blocked())

    assert (await failure_of(refiner)).reason == GEMINI_BLOCKED
    assert state(breaker) == "closed"


async def test_cancelled_trial_does_not_wedge_the_circuit(
    fake: FakeGemini, refiners: Refiners
) -> None:
    now = [1000.0]
    breaker = CircuitBreaker(failure_threshold=1, reset_after=30.0, clock=lambda: now[0])
    refiner = refiners(breaker=breaker, attempts=1)
    fake.script(error(500, "INTERNAL", "boom"))
    await failure_of(refiner)
    now[0] += 30.0

    fake.script(Reply(body=answer(GOOD).body, delay=5.0))
    with pytest.raises(TimeoutError):  # the caller's deadline runs out mid-trial
        async with asyncio.timeout(0.2):
            await refiner.analyze("a red car")
    assert state(breaker) == "half_open"

    fake.script(answer(GOOD))
    await refiner.analyze("a red car")
    assert state(breaker) == "closed"


CAR_TURN = Turn(
    prompt="2019 Renault Clio blue hatchback, front side rear",
    intent=Intent.GENERATE_ANGLES,
    refined_prompt="2019 Renault Clio hatchback, blue paint, studio",
    subject=Subject(
        text="2019 Renault Clio hatchback, blue paint",
        category="vehicle",
        brand="Renault",
        model="Clio",
        year=2019,
        color="blue",
        body_type="hatchback",
    ),
    session_id="sess-clio",
    angles=("front", "side", "rear"),
    image_urls=("http://media/f.png", "http://media/s.png", "http://media/r.png"),
)
CHAT_TURN = Turn(prompt="thanks!", intent=Intent.CHAT, refined_prompt="thanks!")


async def test_the_context_goes_first_as_compact_history(
    fake: FakeGemini, refiners: Refiners
) -> None:
    fake.script(answer(good(intent="generateAngles", angles=["top"], follow_up="moreViews")))
    chat_turns = tuple(Turn(prompt=f"hello {i}", intent=Intent.CHAT) for i in range(9))
    context = Context((*chat_turns, CAR_TURN, CHAT_TURN))  # 11 turns: the last 8 are sent
    analysis = await refiners().analyze("now from the top", context=context)

    [request] = fake.received
    assert request.user_document["prompt"] == "now from the top"
    history = request.history
    assert [role for role, _ in history] == ["user", "model"] * 8
    assert [doc["turn"] for _, doc in history] == [i for i in range(3, 11) for _ in (0, 1)]
    car_asked, car_understood = history[12:14]
    assert car_asked[1] == {"turn": 9, "prompt": CAR_TURN.prompt}
    assert car_understood[1] == {
        "turn": 9,
        "intent": "generateAngles",
        "subject": {
            "text": "2019 Renault Clio hatchback, blue paint",
            "category": "vehicle",
            "brand": "Renault",
            "model": "Clio",
            "year": 2019,
            "color": "blue",
            "body_type": "hatchback",
        },
        "angles": ["front", "side", "rear"],
        "images": 3,
        "refined_prompt": CAR_TURN.refined_prompt,
    }
    assert "http://media" not in str(request.body["contents"])  # URLs are not the model's business
    assert history[-1][1] == {
        "turn": 10,
        "intent": "chat",
        "images": 0,
        "refined_prompt": "thanks!",
    }
    schema = request.body["generationConfig"]["responseSchema"]
    assert schema["properties"]["follow_up"]["enum"] == [kind.value for kind in FollowUp]
    assert schema["properties"]["source_turn"]["type"] == "INTEGER"
    assert "Conversation history" in request.body["systemInstruction"]["parts"][0]["text"]
    # An out-of-range source turn (0 is not among the turns sent) becomes the last with images.
    assert (analysis.follow_up, analysis.source_turn) == (FollowUp.MORE_VIEWS, 9)
    assert analysis.angles == ("top",)
    assert analysis.subject == Subject(text="anime girl", category="person")


async def test_no_context_sends_one_user_turn(fake: FakeGemini, refiners: Refiners) -> None:
    fake.script(answer(good(follow_up="variation", source_turn=3)))
    analysis = await refiners().analyze("another one")

    [request] = fake.received
    assert len(request.body["contents"]) == 1
    assert request.history == []
    assert (analysis.follow_up, analysis.source_turn) == (FollowUp.NONE, 0)


@pytest.mark.parametrize(
    ("changes", "has_image", "expected"),
    [
        # A source turn out of range: the last turn with a result.
        ({"follow_up": "variation", "source_turn": 7}, False, (FollowUp.VARIATION, 0)),
        ({"follow_up": "variation", "source_turn": -1}, False, (FollowUp.VARIATION, 0)),
        # A chat turn is no source either.
        ({"follow_up": "changeSubject", "source_turn": 1}, False, (FollowUp.CHANGE_SUBJECT, 0)),
        # An edit of an earlier result keeps its edit intent without an attached image ...
        (
            {"intent": "styleTransfer", "follow_up": "edit", "source_turn": 0},
            False,
            (FollowUp.EDIT, 0),
        ),
        # ... but with one attached the attachment is edited.
        (
            {"intent": "styleTransfer", "follow_up": "edit", "source_turn": 0},
            True,
            (FollowUp.NONE, 0),
        ),
        ({"follow_up": "none", "source_turn": 1}, False, (FollowUp.NONE, 0)),
    ],
)
async def test_what_a_model_gets_wrong_about_follow_ups_is_clamped(
    fake: FakeGemini,
    refiners: Refiners,
    changes: dict[str, Any],
    has_image: bool,
    expected: tuple[FollowUp, int],
) -> None:
    fake.script(answer(good(**changes)))
    analysis = await refiners().analyze(
        "again", has_image=has_image, context=Context((CAR_TURN, CHAT_TURN))
    )

    assert (analysis.follow_up, analysis.source_turn) == expected
    if expected[0] is FollowUp.EDIT:
        assert analysis.intent is Intent.STYLE_TRANSFER
        assert analysis.reply == ""


async def test_more_views_without_views_or_subject_are_filled_from_the_source(
    fake: FakeGemini, refiners: Refiners
) -> None:
    blank = {k: (0 if k == "year" else "none" if k == "category" else "") for k in GOOD["subject"]}
    fake.script(answer(good(intent="generateImage", follow_up="moreViews", subject=blank)))
    analysis = await refiners().analyze("the other sides too", context=Context((CAR_TURN,)))

    assert analysis.intent is Intent.GENERATE_ANGLES
    assert analysis.angles == ("front_three_quarter", "rear_three_quarter")
    assert analysis.subject == CAR_TURN.subject
    assert (analysis.follow_up, analysis.source_turn) == (FollowUp.MORE_VIEWS, 0)


async def test_a_follow_up_with_no_usable_turn_is_a_new_request(
    fake: FakeGemini, refiners: Refiners
) -> None:
    fake.script(answer(good(intent="styleTransfer", follow_up="edit", source_turn=0)))
    analysis = await refiners().analyze("make it anime", context=Context((CHAT_TURN,)))

    assert analysis.follow_up is FollowUp.NONE
    assert analysis.intent is Intent.GENERATE_IMAGE  # the usual redirect of an imageless edit
    assert "image" in analysis.reply.lower()
