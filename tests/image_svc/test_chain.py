"""The provider chain converts a cloud's image to the requested format, and times that encode
under ``photofun_encode_seconds`` as the mock's own encodes are (a cloud deployment shows
encode time too). The Pollinations adapter against its strict fake on 127.0.0.1."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image
from prometheus_client import REGISTRY

from image_svc.chain import ProviderChain
from image_svc.providers.base import ImageJob
from image_svc.providers.pollinations import PollinationsProvider
from tests.image_svc.providers.fakes import FakePollinations

TOKEN = "sk_test_token_0123456789"


def encodes(fmt: str) -> float:
    return REGISTRY.get_sample_value("photofun_encode_seconds_count", {"format": fmt}) or 0.0


@pytest.fixture
async def chain() -> AsyncIterator[ProviderChain]:
    fake = FakePollinations(TOKEN)  # answers JPEG, whatever format is asked
    async with fake.serve():
        chain = ProviderChain([PollinationsProvider(base_url=fake.url, api_key=TOKEN)])
        yield chain
        await chain.aclose()


async def test_a_converted_cloud_image_counts_one_encode_of_its_format(
    chain: ProviderChain,
) -> None:
    before = {fmt: encodes(fmt) for fmt in ("webp", "jpeg")}
    job = ImageJob(prompt="a red kite over the sea", seed=7, width=256, height=256, fmt="webp")
    produced = await chain.produce(job)
    assert (produced.provider, produced.mime_type) == ("pollinations", "image/webp")
    with Image.open(io.BytesIO(produced.data)) as image:
        assert (image.format, image.size) == ("WEBP", (256, 256))
    assert encodes("webp") - before["webp"] == 1
    # Asked in the format the cloud sends, nothing is encoded, so nothing is counted.
    same = await chain.produce(ImageJob(prompt="a kite", seed=8, width=256, height=256, fmt="jpeg"))
    assert same.mime_type == "image/jpeg"
    assert encodes("jpeg") == before["jpeg"]
    assert encodes("webp") - before["webp"] == 1
