"""The OpenAI Images adapter against a strict fake OpenAI Images API on 127.0.0.1."""

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
from image_svc.providers.openai_images import MODELS, OpenAIImagesProvider, fit_size
from tests import cloud_contracts
from tests.image_svc.providers.fakes import FakeOpenAI, make_image, refused_url

KEY = "sk-test-0123456789abcdefSECRET"
JOB = ImageJob(
    prompt="A blue 2019 Renault Clio hatchback, side view, same car in every view",
    seed=42,
    width=1280,
    height=720,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI(KEY)
    async with server.serve():
        yield server


@pytest.fixture
async def provider(fake: FakeOpenAI) -> AsyncIterator[OpenAIImagesProvider]:
    adapter = OpenAIImagesProvider(api_key=KEY, base_url=fake.url)
    conforms: Provider = adapter  # mypy checks the protocol
    yield adapter
    await conforms.aclose()


async def test_generate_posts_json_and_returns_the_real_size(
    fake: FakeOpenAI, provider: OpenAIImagesProvider
) -> None:
    image = await provider.generate(JOB, timeout=5)

    assert (image.mime_type, image.width, image.height) == ("image/png", 1280, 720)
    assert image.model == "gpt-image-2.6-flare"
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert (decoded.format, decoded.size) == ("PNG", (1280, 720))
    seen = fake.last
    assert (seen.method, seen.path) == ("POST", "/v1/images/generations")
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    # No seed: the API has none (the strict fake would refuse it as an unknown parameter).
    assert seen.json == {
        "model": "gpt-image-2.6-flare",
        "prompt": JOB.prompt,
        "size": "1280x720",
        "n": 1,
    }
    assert KEY not in repr(provider)
    assert not provider.seed_reproducible


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [
        (1024, 1024, (1024, 1024)),
        (720, 1280, (720, 1280)),
        (512, 512, (816, 816)),  # below the smallest area: scaled up
        (9000, 1000, (3840, 1280)),  # ratio clamped to 3:1, longest edge capped
        (8000, 8000, (2880, 2880)),  # area capped
        (1000, 750, (992, 752)),  # rounded to multiples of 16
    ],
)
def test_fit_size_keeps_the_aspect_within_the_rules(
    width: int, height: int, size: tuple[int, int]
) -> None:
    fitted = fit_size(width, height)
    assert fitted == size
    assert cloud_contracts.openai_size_refusal(f"{fitted[0]}x{fitted[1]}") is None


@pytest.mark.parametrize("width", [1, 17, 333, 999, 1920, 3839, 5000])
@pytest.mark.parametrize("height", [1, 64, 700, 2160, 9999])
def test_every_fitted_size_is_one_the_api_accepts(width: int, height: int) -> None:
    fitted = fit_size(width, height)
    assert cloud_contracts.openai_size_refusal(f"{fitted[0]}x{fitted[1]}") is None


@pytest.mark.parametrize("model", sorted(MODELS))
async def test_every_model_of_the_table_is_accepted_by_the_strict_fake(
    fake: FakeOpenAI, model: str
) -> None:
    adapter = OpenAIImagesProvider(api_key=KEY, base_url=fake.url, model=model)
    job = replace(JOB, width=256, height=256, reference=make_image(64, 64))
    try:
        await adapter.generate(replace(job, reference=None), timeout=5)
        await adapter.generate(job, timeout=5)
    finally:
        await adapter.aclose()
    assert [r.path for r in fake.requests] == ["/v1/images/generations", "/v1/images/edits"]


def test_a_model_outside_the_table_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="capability table"):
        OpenAIImagesProvider(api_key=KEY, model="gpt-image-1")


async def test_the_strict_fake_refuses_a_retired_model(fake: FakeOpenAI) -> None:
    adapter = OpenAIImagesProvider(api_key=KEY, base_url=fake.url)
    adapter.model = "gpt-image-1"  # as if the table still listed it
    try:
        with pytest.raises(ProviderRejected, match="HTTP 404 model_not_found"):
            await adapter.generate(JOB, timeout=5)
    finally:
        await adapter.aclose()


async def test_a_reference_goes_to_the_edits_endpoint_as_a_file(
    fake: FakeOpenAI, provider: OpenAIImagesProvider
) -> None:
    reference = make_image(320, 200, "JPEG")
    job = replace(JOB, reference=reference, reference_mime="")  # the type is sniffed

    image = await provider.generate(job, timeout=5)

    assert (image.width, image.height) == (1280, 720)
    seen = fake.last
    assert seen.path == "/v1/images/edits"
    assert seen.headers["content-type"].startswith("multipart/form-data")
    assert seen.files["image"] == ("reference.jpg", "image/jpeg", reference)
    # No input_fidelity: the GPT Image 2 models keep a reference's details on their own.
    assert seen.form == {
        "model": "gpt-image-2.6-flare",
        "prompt": JOB.prompt,
        "size": "1280x720",
        "n": "1",
    }


async def test_a_jpeg_job_asks_for_jpeg_output(
    fake: FakeOpenAI, provider: OpenAIImagesProvider
) -> None:
    image = await provider.generate(replace(JOB, fmt="jpeg"), timeout=5)
    assert fake.last.json["output_format"] == "jpeg"
    assert (image.mime_type, image.width, image.height) == ("image/jpeg", 1280, 720)

    reference = replace(JOB, fmt="webp", reference=make_image(64, 64), reference_mime="image/png")
    image = await provider.generate(replace(reference, width=512, height=512), timeout=5)
    assert fake.last.form["output_format"] == "webp"
    assert (image.mime_type, image.width, image.height) == ("image/webp", 816, 816)


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [({"Retry-After": "12"}, 12.0), ({"retry-after-ms": "2500", "Retry-After": "3"}, 2.5)],
)
async def test_429_is_rate_limited_with_retry_after(
    fake: FakeOpenAI,
    provider: OpenAIImagesProvider,
    headers: dict[str, str],
    retry_after: float,
) -> None:
    fake.mode = "rate_limited"
    fake.rate_limit_headers = headers

    with pytest.raises(ProviderRateLimited) as caught:
        await provider.generate(JOB, timeout=5)

    assert caught.value.reason == "OPENAI_RATE_LIMITED"
    assert caught.value.retry_after == retry_after
    assert "rate_limit_exceeded" in caught.value.message


async def test_exhausted_quota_is_rate_limited_without_a_delay(
    fake: FakeOpenAI, provider: OpenAIImagesProvider
) -> None:
    fake.mode = "quota"
    with pytest.raises(ProviderRateLimited) as caught:
        await provider.generate(JOB, timeout=5)
    assert caught.value.reason == "OPENAI_QUOTA_EXCEEDED"
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("mode", "error", "reason"),
    [
        ("unavailable", ProviderUnavailable, "OPENAI_UNAVAILABLE"),
        ("moderation_blocked", ProviderRejected, "OPENAI_CONTENT_POLICY"),
        ("no_b64", ProviderRejected, "OPENAI_BAD_RESPONSE"),
        ("bad_b64", ProviderRejected, "OPENAI_BAD_RESPONSE"),
        ("not_image", ProviderRejected, "OPENAI_BAD_RESPONSE"),
        ("html", ProviderRejected, "OPENAI_BAD_RESPONSE"),
    ],
)
async def test_failures_map_to_provider_errors(
    fake: FakeOpenAI,
    provider: OpenAIImagesProvider,
    mode: str,
    error: type[ProviderError],
    reason: str,
) -> None:
    fake.mode = mode

    with pytest.raises(error) as caught:
        await provider.generate(JOB, timeout=5)

    assert caught.value.reason == reason
    assert caught.value.provider == "openai"
    assert KEY not in str(caught.value)
    assert len(fake.requests) == 1  # no retries inside the adapter


async def test_a_refused_key_is_rejected_without_echoing_it(fake: FakeOpenAI) -> None:
    wrong = "sk-wrong-key-that-must-not-leak-42"
    adapter = OpenAIImagesProvider(api_key=wrong, base_url=fake.url)
    try:
        with pytest.raises(ProviderRejected) as caught:
            await adapter.generate(JOB, timeout=5)
    finally:
        await adapter.aclose()
    assert caught.value.reason == "OPENAI_UNAUTHORIZED"
    assert "invalid_api_key" in caught.value.message
    assert wrong not in str(caught.value)
    assert wrong[-8:] not in str(caught.value)


async def test_a_slow_answer_times_out_within_the_budget(
    fake: FakeOpenAI, provider: OpenAIImagesProvider
) -> None:
    fake.mode = "slow"
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable) as caught:
        await provider.generate(JOB, timeout=0.3)

    assert time.monotonic() - started < 0.3 + 0.5
    assert caught.value.reason == "OPENAI_TIMEOUT"


async def test_a_refused_connection_is_unavailable() -> None:
    with refused_url() as url:
        adapter = OpenAIImagesProvider(api_key=KEY, base_url=url)
        try:
            with pytest.raises(ProviderUnavailable) as caught:
                await adapter.generate(JOB, timeout=2)
        finally:
            await adapter.aclose()
    assert caught.value.reason == "OPENAI_UNAVAILABLE"
    assert KEY not in str(caught.value)


def test_an_empty_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="API key"):
        OpenAIImagesProvider(api_key="")
