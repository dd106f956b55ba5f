"""Composition root of the conversation service: MongoDB, the work queue, auth, the sweeper."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from celery import Celery
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from conversation_svc import sweeper
from conversation_svc.queue import CeleryQueue, QueueGauges
from conversation_svc.servicer import ConversationServicer
from conversation_svc.settings import Settings
from conversation_svc.store import Store, database_unavailable, hosts_of
from conversation_svc.uploads import Uploader
from mesh.errors import StartupError
from mesh.logs import get_logger
from mesh.media import MediaClient
from mesh.server import ServiceBinding, bind
from photofun.v1 import conversation_service_pb2, conversation_service_pb2_grpc

SERVICE_NAME = conversation_service_pb2.DESCRIPTOR.services_by_name["ConversationService"].full_name
log = get_logger(__name__)


async def build(settings: Settings, stack: contextlib.AsyncExitStack) -> Sequence[ServiceBinding]:
    """Connect to MongoDB and the broker, start the sweeper; all closed by ``stack``. Missing
    token configuration or an unreachable MongoDB is a ``StartupError`` (one line)."""
    token_key = settings.token_key_bytes()
    timeout_ms = int(settings.mongodb_timeout * 1000)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
    )
    stack.push_async_callback(client.close)
    store = Store(client, settings.mongodb_database, token_key=token_key)
    stack.push_async_callback(store.close)
    try:
        await store.ensure_indexes()
    except PyMongoError as exc:
        where = hosts_of(settings.mongodb_uri)
        raise StartupError(f"MongoDB at {where} is unreachable ({type(exc).__name__})") from exc
    celery = Celery("photofun", broker=settings.celery_broker_url)
    celery.conf.broker_connection_timeout = 3
    stack.callback(celery.close)
    queue = CeleryQueue(celery)
    stack.callback(QueueGauges(settings.celery_broker_url).close)
    # A requeued message gets a few lease times to be picked up before it is queued again.
    sweeping = asyncio.create_task(
        sweeper.run_forever(store, settings.sweep_interval, queue, 4 * settings.lease_ttl)
    )

    async def stop_sweeping() -> None:
        sweeping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeping

    stack.push_async_callback(stop_sweeping)
    media = MediaClient(settings.media_service_url, public_url=settings.media_public_url)
    stack.push_async_callback(media.aclose)
    uploader = Uploader(
        media,
        store,
        max_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_upload_pixels,
        per_hour=settings.max_uploads_per_hour,
    )
    servicer = ConversationServicer(
        store,
        queue,
        media_service_url=settings.media_service_url,
        media_public_url=settings.media_public_url,
        uploader=uploader,
        max_processing_per_user=settings.max_processing_per_user,
        message_timeout=settings.message_timeout,
    )
    return [
        bind(
            servicer,
            conversation_service_pb2_grpc.add_ConversationServiceServicer_to_server,
            SERVICE_NAME,
            translators=[database_unavailable],
            limits={"SendMessage": "messages"},  # each message is model work (mesh.ratelimit)
        )
    ]
