"""The whole stack with mTLS between every process (`make run TLS=1`, as compose runs it): a
message goes end to end (the worker calls prompt_svc and image_svc with its certificate), the
bridge edge serves browsers, and no client without a mesh certificate reaches a service."""

from __future__ import annotations

import struct
from pathlib import Path

import grpc
import httpx
import pytest

from devstack.running import RunningStack
from mesh import pki
from photofun.v1 import common_pb2, prompt_service_pb2
from photofun.v1 import conversation_service_pb2 as pb
from tests.e2e.stacks import auth, shared_stack
from tests.e2e.test_pipeline import send, watch_to_end
from tests.photofun_cli.test_main import photofun, pngs

pytestmark = pytest.mark.asyncio(loop_scope="module")


stack = shared_stack("mtls")  # tests/e2e/stacks.py


def _tls_dir(stack: RunningStack) -> Path:
    return Path(stack.env["MESH_TLS_DIR"])


async def test_a_message_goes_end_to_end_over_mtls(stack: RunningStack) -> None:
    credentials = pki.channel_credentials(_tls_dir(stack), "edge")
    async with grpc.aio.secure_channel(stack.conversation, credentials) as channel:
        sent = await send(channel, "alice", "2019 Renault Clio blue hatchback, front side rear")
        events = await watch_to_end(channel, "alice", sent.message_id)
    final = events[-1].message
    assert final.status == pb.MESSAGE_STATUS_DONE, final.failure
    assert final.intent == common_pb2.INTENT_GENERATE_ANGLES
    assert len(final.images) == 3


@pytest.mark.parametrize("service", ["prompt", "image", "conversation"])
async def test_no_client_without_a_mesh_certificate_reaches_a_service(
    stack: RunningStack, service: str
) -> None:
    address = f"127.0.0.1:{getattr(stack.ports, service)}"
    ca = (_tls_dir(stack) / "ca.crt").read_bytes()
    health = "/grpc.health.v1.Health/Check"
    for channel in (
        grpc.aio.insecure_channel(address),
        grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=ca)),
    ):
        async with channel:
            check: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(health)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await check(b"", timeout=5)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_photofun_command_talks_mtls_with_a_mesh_certificate(
    stack: RunningStack, tmp_path: Path
) -> None:
    folder = _tls_dir(stack)
    server = ["--server", stack.conversation, "--user", "carol"]
    ca = ["--cacert", str(folder / "ca.crt")]
    pair = ["--cert", str(folder / "edge.crt"), "--key", str(folder / "edge.key")]
    prompt = "2019 Renault Clio red hatchback, front side"

    chat = await photofun("chat", prompt, *server, *ca, *pair, "--out", str(tmp_path))
    listed = await photofun("conversations", *server, *ca, *pair)
    plaintext = await photofun("conversations", *server)
    no_certificate = await photofun("conversations", *server, *ca)
    half_pair = await photofun("conversations", *server, *ca, "--cert", str(folder / "edge.crt"))
    missing = await photofun("conversations", *server, "--cacert", str(tmp_path / "none.crt"))

    assert chat.code == 0, chat.err
    assert len(pngs(tmp_path)) == 2
    assert listed.code == 0
    assert "Clio" in listed.out
    for refused in (plaintext, no_certificate):
        assert refused.code == 1
        assert "UNAVAILABLE" in refused.err
    assert "--cacert" in plaintext.err  # the hint names what is missing
    assert half_pair.code == 1
    assert "--cert and --key go together" in half_pair.err
    assert missing.code == 1
    assert "cannot read" in missing.err
    assert "none.crt" in missing.err


async def test_the_browser_edge_terminates_the_browsers_side(stack: RunningStack) -> None:
    """The page's calls: gRPC-web over plain HTTP to the bridge, which calls over mTLS."""
    request = prompt_service_pb2.DetectIntentRequest(prompt="draw a red Renault Clio")
    body = request.SerializeToString()
    frame = struct.pack(">BI", 0, len(body)) + body
    url = f"http://127.0.0.1:{stack.ports.web}/photofun.v1.PromptService/DetectIntent"
    headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}
    async with httpx.AsyncClient(timeout=20) as client:
        signed_in = await client.post(url, content=frame, headers={**headers, **dict(auth("a"))})
        anonymous = await client.post(url, content=frame, headers=headers)
    assert signed_in.status_code == 200
    answer = signed_in.content
    assert answer[0] == 0, answer  # a message frame first, then the trailers
    reply = prompt_service_pb2.DetectIntentResponse.FromString(
        answer[5 : 5 + struct.unpack(">I", answer[1:5])[0]]
    )
    assert reply.intent == common_pb2.INTENT_GENERATE_IMAGE
    assert b"grpc-status:0" in answer.replace(b" ", b"")
    # Refused before any message: status in the HTTP headers, empty body (as Envoy answers).
    assert anonymous.headers["grpc-status"] == "16", anonymous.headers  # UNAUTHENTICATED
    assert anonymous.content == b""
