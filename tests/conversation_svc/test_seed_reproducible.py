"""Whether a seed reproduces the image travels from the provider that drew it to the client.

Real parts: the MongoDB-wire server, the prompt service (local analyser), the image service with
Gemini first (against the strict fake Gemini: its seed is best effort) and the procedural
renderer after it, the Media stand-in, the pipeline and conversation_svc's GetMessage.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from conversation_svc.model import Message, NewMessage, Status
from conversation_svc.store import Store, now
from image_svc import app as image_app
from image_svc.settings import Settings as ImageSettings
from photofun.v1 import conversation_service_pb2 as pb
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import StartServer
from tests.conversation_svc.service import StartStub, auth, worker_pipeline
from tests.image_svc.providers.fakes import FakeGemini

GEMINI_KEY = "AIza-seed-test"


@pytest.fixture
async def gemini() -> AsyncIterator[FakeGemini]:
    fake = FakeGemini(GEMINI_KEY)
    async with fake.serve():
        yield fake


async def draw(
    start_server: StartServer, store: Store, media_url: str, gemini_url: str | None
) -> Message:
    """One picture through the real pipeline; image_svc tries Gemini first when given its URL."""
    prompt = await start_server(
        prompt_app.build, PromptSettings(gemini_api_key=None, media_service_url=media_url)
    )
    providers: dict[str, Any] = {}
    if gemini_url is not None:
        providers = {
            "providers": "gemini",
            "gemini_base_url": gemini_url,
            "gemini_api_key": SecretStr(GEMINI_KEY),
        }
    image = await start_server(
        image_app.build,
        ImageSettings(
            render_mode="thread", media_service_url=media_url, mock_latency=0.0, **providers
        ),
    )
    async with contextlib.AsyncExitStack() as stack:
        pipeline = await worker_pipeline(stack, store, prompt, image, media_url)
        conversation = await store.create_conversation("alice", "")
        new = NewMessage(
            prompt="a lighthouse on a cliff at dusk",
            request_id="req-seed",
            deadline=now() + dt.timedelta(minutes=5),
            seed=4242,
        )
        sent, _ = await store.insert_message(conversation, new)
        await pipeline.run(str(sent.id))
    done = await store.message_by_id(sent.id)
    assert done is not None
    assert done.status is Status.DONE, done.failure
    return done


@pytest.mark.parametrize(
    ("with_gemini", "provider", "reproducible"), [(True, "gemini", False), (False, "mock", True)]
)
async def test_the_image_says_whether_its_seed_reproduces_it_through_get_message(
    start_server: StartServer,
    start_stub: StartStub,
    store: Store,
    media_url: str,
    gemini: FakeGemini,
    with_gemini: bool,
    provider: str,
    reproducible: bool,
) -> None:
    message = await draw(start_server, store, media_url, gemini.url if with_gemini else None)

    [image] = message.images
    assert (image.provider, image.seed, image.seed_reproducible) == (provider, 4242, reproducible)
    assert len(gemini.requests) == (1 if with_gemini else 0)
    stored = await store.message_by_id(message.id)
    assert stored is not None
    assert stored.images[0].seed_reproducible is reproducible
    stub = await start_stub()
    got = await stub.GetMessage(
        pb.GetMessageRequest(message_id=str(message.id)), metadata=auth("alice")
    )
    [sent] = got.message.images
    assert (sent.provider, sent.seed, sent.seed_reproducible) == (provider, 4242, reproducible)
