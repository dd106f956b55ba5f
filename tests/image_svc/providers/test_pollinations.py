"""The Pollinations adapter against a strict fake of the Pollinations gateway on 127.0.0.1."""

from __future__ import annotations

import email.utils
import io
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

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
from image_svc.providers.pollinations import (
    MAX_PROMPT_URL_BYTES,
    MODELS,
    PollinationsProvider,
    cap_prompt,
)
from tests.image_svc.providers.fakes import FakePollinations, refused_url

TOKEN = "sk_test_token_0123456789"
JOB = ImageJob(
    prompt="A blue 2019 Renault Clio hatchback, front view / studio light, same car in every view",
    seed=3_000_000_123,
    width=768,
    height=512,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakePollinations]:
    server = FakePollinations(TOKEN)
    async with server.serve():
        yield server


@pytest.fixture
async def provider(fake: FakePollinations) -> AsyncIterator[PollinationsProvider]:
    adapter = PollinationsProvider(base_url=fake.url, api_key=TOKEN)
    conforms: Provider = adapter  # mypy checks the protocol
    yield adapter
    await conforms.aclose()


async def test_generate_sends_prompt_size_seed_and_returns_the_real_image(
    fake: FakePollinations, provider: PollinationsProvider
) -> None:
    image = await provider.generate(JOB, timeout=5)

    assert (image.mime_type, image.width, image.height) == ("image/jpeg", 768, 512)
    assert image.model == "flux"
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert (decoded.format, decoded.size) == ("JPEG", (768, 512))
    seen = fake.last
    assert seen.method == "GET"
    assert seen.path == f"/image/{JOB.prompt}"  # the "/" inside the prompt stayed encoded
    assert seen.query == {"width": "768", "height": "512", "seed": "3000000123", "model": "flux"}
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert provider.seed_reproducible  # flux honours the seed


def test_the_gateway_needs_a_key_and_a_known_model() -> None:
    with pytest.raises(ValueError, match="API key"):
        PollinationsProvider(api_key="")
    with pytest.raises(ValueError, match="capability table"):
        PollinationsProvider(api_key=TOKEN, model="flux-realism")


@pytest.mark.parametrize("model", sorted(MODELS))
async def test_every_model_of_the_table_is_accepted_by_the_strict_fake(
    fake: FakePollinations, model: str
) -> None:
    adapter = PollinationsProvider(base_url=fake.url, api_key=TOKEN, model=model)
    try:
        image = await adapter.generate(JOB, timeout=5)
    finally:
        await adapter.aclose()
    assert (image.model, image.width, image.height) == (model, JOB.width, JOB.height)
    assert fake.last.query["model"] == model


async def test_a_model_without_a_documented_seed_says_so(fake: FakePollinations) -> None:
    adapter = PollinationsProvider(base_url=fake.url, api_key=TOKEN, model="turbo")
    try:
        image = await adapter.generate(JOB, timeout=5)
    finally:
        await adapter.aclose()
    assert image.model == "turbo"
    assert fake.last.query["model"] == "turbo"
    assert not adapter.seed_reproducible
    assert TOKEN not in repr(adapter)
    assert {name for name, spec in MODELS.items() if spec.seed_reproducible} == {
        "flux",
        "zimage",
        "seedream",
        "klein",
    }


@pytest.mark.parametrize(
    ("key", "model", "reason", "said"),
    [
        ("sk_wrong", "flux", "POLLINATIONS_UNAUTHORIZED", "UNAUTHORIZED: Invalid API key"),
        (TOKEN, "flux", "POLLINATIONS_PAYMENT_REQUIRED", "PAYMENT_REQUIRED: Insufficient pollen"),
    ],
)
async def test_the_gateway_error_message_is_surfaced(
    fake: FakePollinations, key: str, model: str, reason: str, said: str
) -> None:
    if reason == "POLLINATIONS_PAYMENT_REQUIRED":
        fake.mode = "payment_required"
    adapter = PollinationsProvider(base_url=fake.url, api_key=key, model=model)
    try:
        with pytest.raises(ProviderRejected) as caught:
            await adapter.generate(JOB, timeout=5)
    finally:
        await adapter.aclose()
    assert caught.value.reason == reason
    assert said in caught.value.message
    assert key not in caught.value.message


async def test_a_long_prompt_is_cut_to_fit_the_url(
    fake: FakePollinations, provider: PollinationsProvider
) -> None:
    words = [f"détail{i}" for i in range(3000)]  # ~27 KB encoded: Cloudflare would refuse it
    job = ImageJob(prompt=" ".join(words), seed=1, width=512, height=512)

    await provider.generate(job, timeout=5)

    sent = fake.last.path.removeprefix("/image/")
    assert len(quote(sent, safe="")) <= MAX_PROMPT_URL_BYTES
    assert sent.split(" ") == words[: len(sent.split(" "))]  # whole words, from the start


def test_cap_prompt_keeps_short_prompts_and_cuts_on_a_word() -> None:
    assert cap_prompt("  a red\n car ") == "a red car"
    assert cap_prompt("aaaa bbbb cccc", limit=12) == "aaaa bbbb"  # "aaaa%20bbbb" is 11 bytes
    assert cap_prompt("aaaa bbbb cccc", limit=10) == "aaaa"
    assert cap_prompt("é" * 10, limit=12) == "éé"  # one word longer than the limit: cut inside
    assert cap_prompt("x" * 50, limit=10) == "x" * 10


@pytest.mark.parametrize("retry_after", ["7", "http-date"])
async def test_429_is_rate_limited_with_retry_after(
    fake: FakePollinations, provider: PollinationsProvider, retry_after: str
) -> None:
    fake.mode = "rate_limited"
    if retry_after == "http-date":
        fake.retry_after = email.utils.formatdate(time.time() + 30, usegmt=True)

    with pytest.raises(ProviderRateLimited) as caught:
        await provider.generate(JOB, timeout=5)

    assert caught.value.reason == "POLLINATIONS_RATE_LIMITED"
    assert caught.value.retryable
    assert caught.value.retry_after is not None
    expected = 7 if retry_after == "7" else 30
    assert expected - 2 <= caught.value.retry_after <= expected
    assert "Queue full" in caught.value.message


@pytest.mark.parametrize(
    ("mode", "error", "reason"),
    [
        ("unavailable", ProviderUnavailable, "POLLINATIONS_UNAVAILABLE"),
        ("bad_request", ProviderRejected, "POLLINATIONS_REJECTED"),
        ("html", ProviderRejected, "POLLINATIONS_BAD_RESPONSE"),
        ("corrupt", ProviderRejected, "POLLINATIONS_BAD_RESPONSE"),
    ],
)
async def test_failures_map_to_provider_errors(
    fake: FakePollinations,
    provider: PollinationsProvider,
    mode: str,
    error: type[ProviderError],
    reason: str,
) -> None:
    fake.mode = mode

    with pytest.raises(error) as caught:
        await provider.generate(JOB, timeout=5)

    assert caught.value.reason == reason
    assert caught.value.provider == "pollinations"
    assert TOKEN not in str(caught.value)
    assert len(fake.requests) == 1  # no retries inside the adapter


async def test_a_slow_answer_times_out_within_the_budget(
    fake: FakePollinations, provider: PollinationsProvider
) -> None:
    fake.mode = "slow"
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable) as caught:
        await provider.generate(JOB, timeout=0.3)

    assert time.monotonic() - started < 0.3 + 0.5
    assert caught.value.reason == "POLLINATIONS_TIMEOUT"
    assert caught.value.retryable


async def test_a_refused_connection_is_unavailable() -> None:
    with refused_url() as url:
        adapter = PollinationsProvider(base_url=url, api_key=TOKEN)
        try:
            with pytest.raises(ProviderUnavailable) as caught:
                await adapter.generate(JOB, timeout=2)
        finally:
            await adapter.aclose()
    assert caught.value.reason == "POLLINATIONS_UNAVAILABLE"
