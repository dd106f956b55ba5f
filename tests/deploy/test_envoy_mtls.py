"""Compose's edge as compose runs it: the real Envoy with envoy/envoy.yaml's upstream mTLS
(the ``edge`` certificate, the mesh CA, each service's name checked) in front of services that
take mTLS only (``MESH_TLS_DIR``), all with certificates of one ``mesh.pki init``.

Only the addresses and the certificates' folder change (devstack/local_envoy.py, ``tls_dir``).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from devstack.local_envoy import running_envoy
from image_svc import app as image_app
from image_svc.settings import Settings as ImageSettings
from mesh import pki
from mesh.server import GrpcServer, ServiceBinding, bind
from mesh.settings import ServerSettings
from photofun.v1 import conversation_service_pb2_grpc, prompt_service_pb2
from prompt_svc import app as prompt_app
from prompt_svc.settings import Settings as PromptSettings
from tests.conftest import StartServer
from tests.deploy.test_grpc_web_edges import CONVERSATIONS, DETECT, Edge

MEDIA = "http://127.0.0.1:8090"
UNAUTHENTICATED, UNAVAILABLE = "16", "14"


@pytest.fixture
def mesh_ca(tmp_path: Path) -> Path:
    folder = tmp_path / "pki"
    pki.init(folder)
    return folder


async def _services(
    start_server: StartServer, mesh_ca: Path, *, prompt_identity: str = "prompt_svc"
) -> dict[str, GrpcServer]:
    """The three services on mTLS; prompt_svc presents ``prompt_identity``'s certificate."""
    prompt = await start_server(
        prompt_app.build,
        PromptSettings(media_service_url=MEDIA, mesh_tls_dir=mesh_ca, tls_name=prompt_identity),
    )
    image = await start_server(
        image_app.build,
        ImageSettings(
            render_mode="thread",
            media_service_url=MEDIA,
            mesh_tls_dir=mesh_ca,
            tls_name="image_svc",
        ),
    )

    async def build_conversations(settings: object, stack: object) -> list[ServiceBinding]:
        del settings, stack  # only its health matters here: the other RPCs are UNIMPLEMENTED
        servicer = conversation_service_pb2_grpc.ConversationServiceServicer()  # type: ignore[abstract]
        add = conversation_service_pb2_grpc.add_ConversationServiceServicer_to_server
        return [bind(servicer, add, CONVERSATIONS)]

    conversation = await start_server(
        build_conversations, ServerSettings(mesh_tls_dir=mesh_ca, tls_name="conversation_svc")
    )
    return {"prompt_svc": prompt, "image_svc": image, "conversation_svc": conversation}


def _ports(servers: dict[str, GrpcServer]) -> dict[str, int]:
    return {name: server.port for name, server in servers.items()}


async def test_envoy_reaches_the_services_over_mtls(
    start_server: StartServer, mesh_ca: Path, envoy_binary: Path, tmp_path: Path
) -> None:
    servers = await _services(start_server, mesh_ca)
    # Ready only once every cluster passed its gRPC health check, over mTLS.
    async with (
        running_envoy(envoy_binary, _ports(servers), tmp_path, tls_dir=mesh_ca) as envoy,
        httpx.AsyncClient(timeout=30) as client,
    ):
        edge = Edge("envoy", envoy.url, envoy)
        request = prompt_service_pb2.DetectIntentRequest(prompt="draw a red kite")
        served = await edge.call(client, DETECT, request)
        assert served.grpc_status == "0", served
        (message,) = served.messages
        assert prompt_service_pb2.DetectIntentResponse.FromString(message).intent
        refused = await edge.call(client, DETECT, request, authorization="")
        assert refused.grpc_status == UNAUTHENTICATED, refused
        assert await envoy.counter("cluster.prompt_svc.ssl.handshake") >= 1


async def test_envoy_refuses_a_service_with_another_identity(
    start_server: StartServer, mesh_ca: Path, envoy_binary: Path, tmp_path: Path
) -> None:
    # A valid certificate of the mesh, but image_svc's, where prompt_svc should answer.
    servers = await _services(start_server, mesh_ca, prompt_identity="image_svc")
    healthy = ["image_svc", "conversation_svc"]
    async with (
        running_envoy(
            envoy_binary, _ports(servers), tmp_path, healthy=healthy, tls_dir=mesh_ca
        ) as envoy,
        httpx.AsyncClient(timeout=30) as client,
    ):
        request = prompt_service_pb2.DetectIntentRequest(prompt="draw a red kite")
        reply = await Edge("envoy", envoy.url, envoy).call(client, DETECT, request)
        assert reply.grpc_status == UNAVAILABLE, reply
        assert not reply.messages
        assert await envoy.counter("cluster.prompt_svc.ssl.fail_verify_san") >= 1
