"""The queue gauges read the real Redis list Celery publishes to."""

from __future__ import annotations

import asyncio
import math

import redis
from celery import Celery

from conversation_svc.queue import ENQUEUED_AT, QUEUE_NAME, CeleryQueue, QueueGauges


async def test_depth_and_oldest_age_follow_the_waiting_tasks(redis_url: str) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own
    redis.Redis.from_url(url).flushdb()
    app = Celery("queue-metrics", broker=url)
    gauges = QueueGauges(url)
    try:
        assert (gauges.depth(), gauges.oldest_age()) == (0.0, 0.0)
        queue = CeleryQueue(app)
        await queue.enqueue("message-1", "request-1")
        await asyncio.sleep(0.3)
        await queue.enqueue("message-2", "request-2")
        assert gauges.depth() == 2
        # The oldest is the first one: at least the 0.3 s between the two has passed.
        assert 0.3 <= gauges.oldest_age() < 30
        raw = redis.Redis.from_url(url).lindex(QUEUE_NAME, -1)
        assert raw is not None
        assert b"request-1" in raw
        assert ENQUEUED_AT.encode() in raw
    finally:
        gauges.close()
        app.close()


def test_an_unreachable_broker_reads_as_not_a_number() -> None:
    gauges = QueueGauges("redis://127.0.0.1:1/0")
    try:
        assert math.isnan(gauges.depth())
        assert math.isnan(gauges.oldest_age())
    finally:
        gauges.close()
