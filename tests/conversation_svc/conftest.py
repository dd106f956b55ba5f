"""Fixtures of the conversation service tests; the shared real servers are in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from pymongo import AsyncMongoClient

from conversation_svc import app
from conversation_svc.settings import Settings
from conversation_svc.store import Store
from mesh.server import GrpcServer
from photofun.v1 import conversation_service_pb2_grpc as rpc
from tests.conftest import StartServer
from tests.conversation_svc.service import MEDIA, SECRET, StartStub

if TYPE_CHECKING:
    from tests.conversation_svc.service import Stub


@pytest.fixture
def start_stub(
    start_server: StartServer,
    channel_to: Callable[[GrpcServer], grpc.aio.Channel],
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
        return rpc.ConversationServiceStub(channel_to(server))

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
    await client.close()
