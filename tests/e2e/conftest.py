"""What the whole-stack modules share: stacks (tests/e2e/stacks.py), a channel and a stub to
the stack's conversation_svc, and the hook that tells a shared stack what runs next."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio

from devstack.running import RunningStack
from photofun.v1 import conversation_service_pb2_grpc as rpc
from tests.e2e import stacks
from tests.e2e.stacks import shared_stacks

__all__ = ["shared_stacks"]  # the session's shared stacks (fixture)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Before the fixtures of ``item`` are torn down: a shared stack stays up for ``nextitem``."""
    del item
    stacks.following[0] = nextitem


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def channel(stack: RunningStack) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to the module's conversation_svc (callers send their own tokens)."""
    async with grpc.aio.insecure_channel(stack.conversation) as opened:
        yield opened


@pytest.fixture(scope="module")
def stub(channel: grpc.aio.Channel) -> rpc.ConversationServiceAsyncStub:
    """conversation_svc's stub on the module's channel."""
    return rpc.ConversationServiceStub(channel)
