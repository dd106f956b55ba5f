"""Sixteen users at once wait about as long as one alone: the worker keeps many messages in
flight instead of one per process slot (with one per slot, sixteen would wait ~8 × as long).

The mock waits 4 s a view, as a real model's few seconds, so the ratio shows the concurrency
design; the CPU each message costs on a 2-core machine is the benchmark's business
(bench/conversation.py, 1 s a view, where the ratio holds on a quiet machine with a small
margin: docs/celery-workflow.md).
Marked ``alone``: `make pytest` runs it last and by itself, so no other test's load skews it.
"""

from __future__ import annotations

import asyncio
import statistics

import pytest

from photofun.v1 import conversation_service_pb2_grpc as rpc
from tests.e2e.stacks import own_stack
from tests.e2e.test_throughput import SINGLE, time_to_done

pytestmark = pytest.mark.asyncio(loop_scope="module")

stack = own_stack({"IMAGE_SVC_MOCK_LATENCY": "4.0", "LOG_LEVEL": "WARNING"})


@pytest.mark.alone
async def test_sixteen_users_at_once_wait_about_as_long_as_one_alone(
    stub: rpc.ConversationServiceAsyncStub,
) -> None:
    await time_to_done(stub, "warm-up", SINGLE.format(n=0))
    lone = statistics.median(
        [await time_to_done(stub, "lone", SINGLE.format(n=n)) for n in range(1, 4)]
    )
    together = await asyncio.gather(
        *(time_to_done(stub, f"crowd-{i}", SINGLE.format(n=i)) for i in range(16))
    )
    assert statistics.median(together) <= 1.5 * lone, (lone, sorted(together))
