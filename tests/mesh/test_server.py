"""The shared bootstrap: every service over a real port, health, reflection, shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2

from conversation_svc import app as conversation_app
from conversation_svc.settings import Settings as ConversationSettings
from devstack.processes import free_port
from image_svc import app as image_app
from image_svc.settings import Settings as ImageSettings
from mesh.errors import StartupError
from mesh.server import GrpcServer
from mesh.settings import ServerSettings
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import StartServer

SERVICES = [
    (prompt_app, PromptSettings, "photofun.v1.PromptService"),
    (image_app, ImageSettings, "photofun.v1.ImageService"),
    (conversation_app, ConversationSettings, "photofun.v1.ConversationService"),
]


def _health_check(
    channel: grpc.aio.Channel,
) -> grpc.aio.UnaryUnaryMultiCallable[
    health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
]:
    return channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )


@pytest.mark.parametrize(("app", "settings_cls", "name"), SERVICES)
async def test_grpcurl_lists_describes_and_health_checks_each_service(
    start_server: StartServer,
    grpcurl: str,
    app: object,
    settings_cls: type[ServerSettings],
    name: str,
    mongo_uri: str,
    redis_url: str,
) -> None:
    settings = (
        ConversationSettings(mongodb_uri=mongo_uri, celery_broker_url=redis_url)
        if settings_cls is ConversationSettings
        else settings_cls()
    )
    server = await start_server(app.build, settings)  # type: ignore[attr-defined]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [grpcurl, "-plaintext", *args], capture_output=True, text=True, timeout=20, check=False
        )

    listed = await asyncio.to_thread(run, server.address, "list")
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) >= {
        name,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    described = await asyncio.to_thread(run, server.address, "describe", name)
    assert described.returncode == 0, described.stderr
    assert f"service {name.rsplit('.', 1)[1]} {{" in described.stdout
    health = await asyncio.to_thread(
        run, "-d", json.dumps({"service": name}), server.address, "grpc.health.v1.Health/Check"
    )
    # grpcurl exits 0 even for NOT_SERVING (docs/platform-notes.md): the printed status counts.
    assert json.loads(health.stdout) == {"status": "SERVING"}


async def test_a_port_in_use_is_an_error_not_a_silent_share(start_server: StartServer) -> None:
    first = await start_server(prompt_app.build, PromptSettings())
    second = GrpcServer([], PromptSettings(host="127.0.0.1", port=first.port))
    with pytest.raises(StartupError, match="PROMPT_SVC_PORT"):
        await second.start()


async def test_sigterm_turns_health_not_serving_before_the_process_exits() -> None:
    port = free_port()
    # No metrics endpoint: its default port may be taken by a `make run` on this machine.
    env = {**os.environ, "PROMPT_SVC_GRACE_PERIOD": "1", "PROMPT_SVC_METRICS_PORT": "0"}
    proc = subprocess.Popen(  # noqa: ASYNC220 - the test owns this process for its lifetime
        [sys.executable, "-m", "prompt_svc", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await asyncio.wait_for(channel.channel_ready(), 20)
            check = _health_check(channel)
            reply = await check(health_pb2.HealthCheckRequest(), wait_for_ready=True, timeout=20)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            watch = channel.unary_stream(
                "/grpc.health.v1.Health/Watch",
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString,
            )
            call = watch(health_pb2.HealthCheckRequest(service="photofun.v1.PromptService"))
            seen: list[int] = []
            first = await call.read()
            assert isinstance(first, health_pb2.HealthCheckResponse)
            seen.append(first.status)
            proc.send_signal(signal.SIGTERM)
            while True:
                try:
                    item = await asyncio.wait_for(call.read(), 10)
                except grpc.aio.AioRpcError:
                    break  # the server finished its grace period and went away
                if item is grpc.aio.EOF:
                    break
                assert isinstance(item, health_pb2.HealthCheckResponse)
                seen.append(item.status)
        assert seen[0] == health_pb2.HealthCheckResponse.SERVING
        assert health_pb2.HealthCheckResponse.NOT_SERVING in seen
        assert await asyncio.to_thread(proc.wait, 15) == 0
        assert proc.stderr is not None
        assert b"stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.mark.parametrize("taken", ["PROMPT_SVC_PORT", "PROMPT_SVC_METRICS_PORT"])
def test_a_port_in_use_stops_the_start_in_one_line_naming_its_setting(taken: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        ports = {"PROMPT_SVC_PORT": str(free_port()), "PROMPT_SVC_METRICS_PORT": str(free_port())}
        ports[taken] = str(holder.getsockname()[1])
        done = subprocess.run(
            [sys.executable, "-m", "prompt_svc"],
            env={**os.environ, "PROMPT_SVC_HOST": "127.0.0.1", **ports},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    ours = [line for line in done.stderr.splitlines() if line.startswith("prompt_svc:")]
    assert len(ours) == 1, done.stderr
    assert ports[taken] in ours[0]
    assert f"set {taken} to another port" in ours[0]
    assert "Traceback" not in done.stderr
