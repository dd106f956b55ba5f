"""The Gemini adapter (google-genai) against a strict fake generateContent endpoint on 127.0.0.1."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from PIL import Image

from image_svc.providers.base import (
    ImageJob,
    Provider,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from image_svc.providers.gemini_images import (
    MODELS,
    GeminiImagesProvider,
    nearest_aspect,
    size_tier,
)
from tests.image_svc.providers.fakes import FakeGemini, make_image, refused_url

KEY = "AIzaTest0123456789-SECRET"
MODEL = "gemini-3.1-flash-image"
JOB = ImageJob(
    prompt="A blue 2019 Renault Clio hatchback, rear view, same car in every view",
    seed=1234,
    width=1280,
    height=720,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    server = FakeGemini(KEY)
    async with server.serve():
        yield server


@pytest.fixture
async def provider(fake: FakeGemini) -> AsyncIterator[GeminiImagesProvider]:
    adapter = GeminiImagesProvider(api_key=KEY, base_url=fake.url)
    conforms: Provider = adapter  # mypy checks the protocol
    yield adapter
    await conforms.aclose()


async def test_generate_calls_generate_content_and_returns_the_image(
    fake: FakeGemini, provider: GeminiImagesProvider
) -> None:
    image = await provider.generate(JOB, timeout=5)

    assert (image.mime_type, image.width, image.height) == ("image/png", 1360, 768)
    assert image.model == MODEL  # the answer's modelVersion
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert (decoded.format, decoded.size) == ("PNG", (1360, 768))
    seen = fake.last
    assert (seen.method, seen.path) == ("POST", f"/v1beta/models/{MODEL}:generateContent")
    assert seen.headers["x-goog-api-key"] == KEY
    assert seen.headers["x-server-timeout"] == "5"  # the deadline travels to Google
    assert "key" not in seen.query
    assert seen.json == {
        "contents": [{"role": "user", "parts": [{"text": JOB.prompt}]}],
        "generationConfig": {
            "seed": 1234,
            "responseModalities": ["IMAGE", "TEXT"],
            "imageConfig": {"aspectRatio": "16:9", "imageSize": "1K"},
        },
    }
    assert KEY not in repr(provider)
    assert not provider.seed_reproducible  # Google documents the seed as best effort


async def test_a_32_bit_seed_is_folded_into_int32(
    fake: FakeGemini, provider: GeminiImagesProvider
) -> None:
    await provider.generate(replace(JOB, seed=2**32 - 1, width=512, height=512), timeout=5)
    config = fake.last.json["generationConfig"]
    assert config["seed"] == 2**31 - 1
    assert config["imageConfig"] == {"aspectRatio": "1:1", "imageSize": "512"}


@pytest.mark.parametrize(
    ("width", "height", "ratio"),
    [(1024, 1024, "1:1"), (720, 1280, "9:16"), (1000, 760, "4:3"), (2520, 1080, "21:9")],
)
def test_nearest_aspect(width: int, height: int, ratio: str) -> None:
    assert nearest_aspect(width, height) == ratio


def test_each_model_asks_only_for_what_it_documents() -> None:
    flash, pro = MODELS["gemini-3.1-flash-image"], MODELS["gemini-3-pro-image"]
    assert nearest_aspect(4000, 1000, flash.aspect_ratios) == "4:1"
    assert nearest_aspect(4000, 1000, pro.aspect_ratios) == "21:9"
    assert size_tier(512, 300, flash.image_sizes) == "512"
    assert size_tier(512, 300, pro.image_sizes) == "1K"
    assert size_tier(9000, 10, pro.image_sizes) == "4K"


@pytest.mark.parametrize("model", sorted(MODELS))
async def test_every_model_of_the_table_is_accepted_by_the_strict_fake(
    fake: FakeGemini, model: str
) -> None:
    adapter = GeminiImagesProvider(api_key=KEY, base_url=fake.url, model=model)
    try:
        for width, height in ((800, 200), (600, 600), (540, 960)):
            await adapter.generate(replace(JOB, width=width, height=height), timeout=5)
    finally:
        await adapter.aclose()
    assert len(fake.requests) == 3


def test_a_model_outside_the_table_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="capability table"):
        GeminiImagesProvider(api_key=KEY, model="gemini-2.5-flash-image")


async def test_the_strict_fake_refuses_the_v1_api_and_a_retired_model(fake: FakeGemini) -> None:
    # What a drift back to the old API version or model would meet: the real API's errors.
    on_v1 = GeminiImagesProvider(api_key=KEY, base_url=fake.url, api_version="v1")
    retired = GeminiImagesProvider(api_key=KEY, base_url=fake.url)
    retired.model = "gemini-2.5-flash-image"  # as if the table still listed it
    try:
        with pytest.raises(ProviderRejected, match='Unknown name "responseModalities"'):
            await on_v1.generate(JOB, timeout=5)
        with pytest.raises(ProviderRejected, match=r"NOT_FOUND.*is not found for API version"):
            await retired.generate(JOB, timeout=5)
    finally:
        await on_v1.aclose()
        await retired.aclose()


async def test_the_reference_image_is_sent_inline(
    fake: FakeGemini, provider: GeminiImagesProvider
) -> None:
    reference = make_image(320, 200, "JPEG")

    await provider.generate(replace(JOB, reference=reference, reference_mime=""), timeout=5)

    prompt_part, image_part = fake.last.json["contents"][0]["parts"]
    assert prompt_part == {"text": JOB.prompt}
    assert "inlineData" in image_part
    assert fake.inline_images == [("image/jpeg", reference)]


async def test_draft_thought_images_are_skipped(
    fake: FakeGemini, provider: GeminiImagesProvider
) -> None:
    fake.mode = "thought"
    image = await provider.generate(JOB, timeout=5)
    assert (image.width, image.height) == (1360, 768)


async def test_429_is_rate_limited_with_the_retry_info_delay(
    fake: FakeGemini, provider: GeminiImagesProvider
) -> None:
    fake.mode = "rate_limited"

    with pytest.raises(ProviderRateLimited) as caught:
        await provider.generate(JOB, timeout=5)

    assert caught.value.reason == "GEMINI_RATE_LIMITED"
    assert caught.value.retry_after == 17.0
    assert "RESOURCE_EXHAUSTED" in caught.value.message
    assert len(fake.requests) == 1  # the SDK's own retries are off


@pytest.mark.parametrize(
    ("mode", "error", "reason"),
    [
        ("unavailable", ProviderUnavailable, "GEMINI_UNAVAILABLE"),
        ("prompt_blocked", ProviderRejected, "GEMINI_SAFETY_BLOCKED"),
        ("image_safety", ProviderRejected, "GEMINI_SAFETY_BLOCKED"),
        ("text_only", ProviderRejected, "GEMINI_NO_IMAGE"),
        ("invalid_argument", ProviderRejected, "GEMINI_REJECTED"),
        ("bad_base64", ProviderRejected, "GEMINI_BAD_RESPONSE"),
        ("not_image", ProviderRejected, "GEMINI_BAD_RESPONSE"),
        ("html", ProviderRejected, "GEMINI_BAD_RESPONSE"),
    ],
)
async def test_failures_map_to_provider_errors(
    fake: FakeGemini,
    provider: GeminiImagesProvider,
    mode: str,
    error: type[ProviderError],
    reason: str,
) -> None:
    fake.mode = mode

    with pytest.raises(error) as caught:
        await provider.generate(JOB, timeout=5)

    assert caught.value.reason == reason
    assert caught.value.provider == "gemini"
    assert KEY not in str(caught.value)
    assert len(fake.requests) == 1


async def test_the_block_reason_and_the_models_text_are_reported(
    fake: FakeGemini, provider: GeminiImagesProvider
) -> None:
    fake.mode = "prompt_blocked"
    with pytest.raises(ProviderRejected, match="PROHIBITED_CONTENT"):
        await provider.generate(JOB, timeout=5)
    fake.mode = "text_only"
    with pytest.raises(ProviderRejected, match="no picture"):
        await provider.generate(JOB, timeout=5)


async def test_an_invalid_key_is_unauthorized_and_not_echoed(fake: FakeGemini) -> None:
    wrong = "AIzaWrongKeyThatMustNotLeak"
    adapter = GeminiImagesProvider(api_key=wrong, base_url=fake.url)
    try:
        with pytest.raises(ProviderRejected) as caught:
            await adapter.generate(JOB, timeout=5)
    finally:
        await adapter.aclose()
    assert caught.value.reason == "GEMINI_UNAUTHORIZED"
    assert wrong not in str(caught.value)


async def test_a_slow_answer_times_out_within_the_budget(
    fake: FakeGemini, provider: GeminiImagesProvider
) -> None:
    fake.mode = "slow"
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable) as caught:
        await provider.generate(JOB, timeout=0.3)

    assert time.monotonic() - started < 0.3 + 0.5
    assert caught.value.reason == "GEMINI_TIMEOUT"


async def test_a_refused_connection_is_unavailable_at_once() -> None:
    with refused_url() as url:
        adapter = GeminiImagesProvider(api_key=KEY, base_url=url)
        started = time.monotonic()
        try:
            with pytest.raises(ProviderUnavailable) as caught:
                await adapter.generate(JOB, timeout=5)
        finally:
            await adapter.aclose()
    # Without retry options the SDK would sleep 1-10 s and try again.
    assert time.monotonic() - started < 1
    assert caught.value.reason == "GEMINI_UNAVAILABLE"
    assert KEY not in str(caught.value)


def test_an_empty_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="API key"):
        GeminiImagesProvider(api_key="")
