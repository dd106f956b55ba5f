"""No token, no call: every method of every service the gRPC-web edges route, through both
edges (the real Envoy with envoy/envoy.yaml, and the dev bridge), with the upstreams and edges
of test_grpc_web_edges.py.

The gate (mesh.access) runs before any handler and before the request is read, so an empty
framed request is enough for every method, unary or streaming; the scripted
ConversationService behind the edges is gated as the real one is (mesh.server.GrpcServer).
"""

from __future__ import annotations

import grpc
import httpx
from google.protobuf import empty_pb2

from devstack import grpcweb_bridge
from photofun.v1 import (
    conversation_service_pb2,
    image_service_pb2,
    prompt_service_pb2,
)
from tests.deploy import test_grpc_web_edges as edges
from tests.deploy.test_grpc_web_edges import Edge

# Its fixtures, used here as there: both edges in front of the same upstreams.
edge, upstreams, client = edges.edge, edges.upstreams, edges.client

UNAUTHENTICATED = str(grpc.StatusCode.UNAUTHENTICATED.value[0])
SERVICES = {
    service.full_name: service
    for module in (prompt_service_pb2, image_service_pb2, conversation_service_pb2)
    for service in module.DESCRIPTOR.services_by_name.values()
}
# Every method the edges expose: "/photofun.v1.PromptService/Refine", ...
EXPOSED = [
    f"/{name}/{method.name}"
    for name in grpcweb_bridge.PUBLIC_SERVICES
    for method in SERVICES[name].methods
]


def test_every_service_of_the_protos_is_exposed_and_listed() -> None:
    assert set(grpcweb_bridge.PUBLIC_SERVICES) <= set(SERVICES)
    assert len(EXPOSED) == sum(len(s.methods) for s in SERVICES.values())


async def test_every_exposed_rpc_without_a_valid_token_is_unauthenticated(
    edge: Edge, client: httpx.AsyncClient
) -> None:
    # One edge (and one set of upstreams) for all the methods: starting Envoy per method
    # would cost more than the calls.
    empty = empty_pb2.Empty()
    for path in EXPOSED:
        for authorization in ("", "Bearer abc.def"):
            reply = await edge.call(client, path, empty, authorization=authorization)
            assert reply.grpc_status == UNAUTHENTICATED, (edge.kind, path, authorization, reply)
            assert not reply.messages, (edge.kind, path)
