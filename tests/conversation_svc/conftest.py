"""Fixtures of the conversation service tests; the shared real servers are in tests/conftest.py."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pymongo import AsyncMongoClient

from conversation_svc import app
from conversation_svc.pipeline import Pipeline
from conversation_svc.settings import Settings
from conversation_svc.store import Store
from devstack.media_server import create_app as media_app
from image_svc import app as image_app
from image_svc.settings import Settings as ImageSettings
from photofun.v1 import conversation_service_pb2_grpc as rpc
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import ChannelTo, StartServer
from tests.conversation_svc.service import MEDIA, SECRET, StartStub, worker_pipeline
from tests.http_servers import serve_app

if TYPE_CHECKING:
    from tests.conversation_svc.service import Stub


@pytest.fixture
def start_stub(
    start_server: StartServer,
    channel_to: ChannelTo,
    mongo_uri: str,
    redis_url: str,
    database: str,
) -> StartStub:
    """Start conversation_svc on a fresh database; keyword arguments override settings."""

    async def start(**overrides: Any) -> Stub:
        defaults: dict[str, Any] = {
            "mongodb_uri": mongo_uri,
            "mongodb_database": database,
            "celery_broker_url": redis_url,
            "jwt_secret": SECRET,
            "media_service_url": MEDIA,
        }
        settings = Settings(**(defaults | overrides))
        server = await start_server(app.build, settings)
        return rpc.ConversationServiceStub(channel_to(server, user=None))

    return start


@pytest.fixture
async def stub(start_stub: StartStub) -> Stub:
    return await start_stub(max_processing_per_user=3)


@pytest.fixture
async def store(mongo_uri: str, database: str) -> AsyncIterator[Store]:
    """The store on a fresh database, indexes made, as the worker uses it."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_uri)
    store = Store(client, database)
    await store.ensure_indexes()
    yield store
    await store.close()
    await client.close()


@pytest.fixture
async def media_url(tmp_path: Path) -> AsyncIterator[str]:
    async with serve_app(media_app(tmp_path / "media")) as url:
        yield url


@pytest.fixture
async def pipeline(
    start_server: StartServer, store: Store, media_url: str
) -> AsyncIterator[Pipeline]:
    prompt = await start_server(
        prompt_app.build, PromptSettings(gemini_api_key=None, media_service_url=media_url)
    )
    image = await start_server(
        image_app.build,
        ImageSettings(render_mode="thread", media_service_url=media_url, mock_latency=0.0),
    )
    async with contextlib.AsyncExitStack() as stack:
        # As the worker calls them: for each message's owner, as a trusted mesh service.
        yield await worker_pipeline(stack, store, prompt, image, media_url)
