"""Which whole-stack modules share one stack, and the fixtures that start theirs.

A stack takes 20-40 s to start on the two-core machine, so modules whose tests run against the
same settings, and never stop, kill or restart a part, share one: the modules of a group run one
after another on one pytest-xdist worker (``tests/scheduling.py`` keeps a group together and
runs it as one unit), the first starts the group's stack and the last one stops it. Each test
still uses its own users and conversations, so a shared stack changes nothing a test reads.
Modules that break parts on purpose (test_pipeline.py, test_throughput.py) start their own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import pytest
import pytest_asyncio

from conversation_svc.settings import Settings
from devstack.running import RunningStack, running_stack
from mesh.auth import mint_token


@dataclass(frozen=True)
class StackPlan:
    """What a shared stack runs with, and which modules (file names under tests/e2e) use it."""

    env: Mapping[str, str]
    modules: tuple[str, ...]
    tls: bool = False


SHARED: dict[str, StackPlan] = {
    # The mock at full speed, one render worker (the pages need no more).
    "plain": StackPlan(
        env={
            "IMAGE_SVC_MOCK_LATENCY": "0",
            "IMAGE_SVC_RENDER_WORKERS": "1",
            "CONVERSATION_SVC_IMAGE_TIMEOUT": "30",
            "CONVERSATION_SVC_MAX_PROCESSING_PER_USER": "20",
        },
        modules=(
            "test_conversation_memory.py",
            "test_grpcurl_cookbook.py",
            "test_browser_languages.py",
        ),
    ),
    # mTLS between every process (`make run TLS=1`).
    "mtls": StackPlan(
        env={"IMAGE_SVC_RENDER_WORKERS": "1", "CONVERSATION_SVC_IMAGE_TIMEOUT": "30"},
        modules=("test_mtls.py", "test_browser_mtls.py"),
        tls=True,
    ),
}


def group_of(module: str | PurePath) -> str | None:
    """The shared stack a module (its path) runs on, or None when it starts its own."""
    path = PurePath(module)
    if path.parent.name != "e2e":
        return None
    return next((name for name, plan in SHARED.items() if path.name in plan.modules), None)


@dataclass
class _Open:
    running: RunningStack
    exit: contextlib.AsyncExitStack


# The test after the one being torn down (set by tests/e2e/conftest.py's
# pytest_runtest_teardown): a group's stack stops unless that test runs on it too.
following: list[pytest.Item | None] = [None]


@dataclass
class SharedStacks:
    """The running shared stacks of this test process, by group. They start and stop on the
    session's event loop: an async generator is closed with the loop it first ran on, and a
    module's loop ends with its module."""

    root: pytest.TempPathFactory
    open: dict[str, _Open] = field(default_factory=dict)

    async def get(self, group: str) -> RunningStack:
        """The group's stack, started on first use."""
        if group not in self.open:
            plan = SHARED[group]
            exit_stack = contextlib.AsyncExitStack()
            folder = self.root.mktemp(group.replace(" ", "-"))
            running = await exit_stack.enter_async_context(
                running_stack(folder, plan.env, tls=plan.tls)
            )
            self.open[group] = _Open(running, exit_stack)
        return self.open[group].running

    async def release(self, group: str) -> None:
        """Stop the group's stack unless the next test runs on it too."""
        after = following[0]
        if after is not None and group_of(after.path) == group:
            return
        opened = self.open.pop(group, None)
        if opened is not None:
            await opened.exit.aclose()

    async def close(self) -> None:
        """Stop whatever still runs (a run stopped early, by -x or Ctrl-C)."""
        while self.open:
            await self.open.popitem()[1].exit.aclose()


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def shared_stacks(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SharedStacks]:
    stacks = SharedStacks(tmp_path_factory)
    yield stacks
    await stacks.close()


def shared_stack(group: str, name: str = "stack") -> Any:
    """A module's fixture ``name`` on the group's shared stack (see ``SHARED``)."""

    @pytest_asyncio.fixture(loop_scope="session", scope="module", name=name)
    async def stack(shared_stacks: SharedStacks) -> AsyncIterator[RunningStack]:
        yield await shared_stacks.get(group)
        await shared_stacks.release(group)

    return stack


def own_stack(env: Mapping[str, str], *, name: str = "stack", **kwargs: Any) -> Any:
    """A module's own stack (``name``) with ``env``: for modules that stop or break parts."""

    @pytest_asyncio.fixture(loop_scope="module", scope="module", name=name)
    async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
        async with running_stack(tmp_path_factory.mktemp(name), env, **kwargs) as running:
            yield running

    return stack


def auth(user: str) -> tuple[tuple[str, str], ...]:
    """Call metadata with ``user``'s token, signed with the stacks' secret."""
    secret = Settings().jwt_secret.get_secret_value()
    return (("authorization", f"Bearer {mint_token(secret, user)}"),)
