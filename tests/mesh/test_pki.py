"""mTLS inside the mesh (mesh.pki) on a real server: only clients with a valid certificate of
the mesh's CA connect; the worker's certificate is its service identity."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509

from mesh import pki
from mesh.access import USER_KEY
from mesh.server import GrpcServer
from photofun.v1 import prompt_service_pb2, prompt_service_pb2_grpc
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import StartServer, as_user
from tests.status import details_of

REFINE = prompt_service_pb2.RefineRequest(prompt="a red kite over the sea")


@pytest.fixture
def mesh_ca(tmp_path: Path) -> Path:
    folder = tmp_path / "pki"
    assert pki.init(folder) == ["ca", *pki.IDENTITIES]
    return folder


@pytest.fixture
async def server(start_server: StartServer, mesh_ca: Path) -> GrpcServer:
    settings = PromptSettings(media_service_url="http://127.0.0.1:8090", mesh_tls_dir=mesh_ca)
    return await start_server(prompt_app.build, settings)


@pytest.fixture
async def channels() -> AsyncIterator[list[grpc.aio.Channel]]:
    opened: list[grpc.aio.Channel] = []
    yield opened
    for channel in opened:
        await channel.close()


def _stub(
    channels: list[grpc.aio.Channel],
    server: GrpcServer,
    credentials: grpc.ChannelCredentials | None,
) -> prompt_service_pb2_grpc.PromptServiceAsyncStub:
    # The certificates name 127.0.0.1; the server's port is on it.
    address = server.address
    channel = (
        grpc.aio.secure_channel(address, credentials)
        if credentials is not None
        else grpc.aio.insecure_channel(address)
    )
    channels.append(channel)
    return prompt_service_pb2_grpc.PromptServiceStub(channel)


def test_init_keeps_what_is_valid_and_renews_what_expires(mesh_ca: Path) -> None:
    assert pki.init(mesh_ca) == []
    pki.issue(mesh_ca, "image_svc", not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    assert pki.init(mesh_ca) == ["image_svc"]
    cert = x509.load_pem_x509_certificate((mesh_ca / "image_svc.crt").read_bytes())
    assert cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=300)
    assert (mesh_ca / "ca.key").stat().st_mode & 0o077 == 0


async def test_a_client_with_a_mesh_certificate_and_a_token_is_served(
    server: GrpcServer, mesh_ca: Path, channels: list[grpc.aio.Channel]
) -> None:
    edge = _stub(channels, server, pki.channel_credentials(mesh_ca, "edge"))
    assert (await edge.Refine(REFINE, metadata=as_user("alice"), timeout=20)).refined_prompt
    # The edge's certificate is not one that may speak for a user ...
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await edge.Refine(REFINE, metadata=((USER_KEY, "alice"),), timeout=20)
    assert details_of(caught.value).code == grpc.StatusCode.UNAUTHENTICATED
    # ... the worker's is: no token, the user named in the metadata.
    worker = _stub(channels, server, pki.channel_credentials(mesh_ca, "conversation_svc"))
    assert await worker.Refine(REFINE, metadata=((USER_KEY, "alice"),), timeout=20)


# What the server's TLS layer (gRPC core) logs for each refused handshake.
WHY = {
    "no certificate": "PEER_DID_NOT_RETURN_A_CERTIFICATE",
    "another CA": "certificate signature failure",
    "expired": "certificate has expired",
    "plaintext": "WRONG_VERSION_NUMBER",
}


@pytest.mark.parametrize("client", list(WHY))
async def test_clients_without_a_valid_certificate_reach_nothing(
    server: GrpcServer,
    mesh_ca: Path,
    tmp_path: Path,
    channels: list[grpc.aio.Channel],
    client: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    ca = (mesh_ca / "ca.crt").read_bytes()
    credentials: grpc.ChannelCredentials | None
    if client == "no certificate":
        credentials = grpc.ssl_channel_credentials(root_certificates=ca)
    elif client == "another CA":
        other = tmp_path / "other"
        pki.init(other, ["conversation_svc"])
        credentials = grpc.ssl_channel_credentials(
            ca,
            (other / "conversation_svc.key").read_bytes(),
            (other / "conversation_svc.crt").read_bytes(),
        )
    elif client == "expired":
        yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        pki.issue(mesh_ca, "old", not_before=yesterday - dt.timedelta(days=2), not_after=yesterday)
        credentials = pki.channel_credentials(mesh_ca, "old")
    else:
        credentials = None
    stub = _stub(channels, server, credentials)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Refine(REFINE, metadata=as_user("alice"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, caught.value
    # Refused in the handshake, before any handler: one line saying why, not one per retry.
    logged: list[str] = []
    for _ in range(50):
        logged += [ln for ln in capfd.readouterr().err.splitlines() if "Handshake failed" in ln]
        if logged:
            break
        await asyncio.sleep(0.05)
    assert len(logged) == 1, logged
    assert WHY[client] in logged[0]
