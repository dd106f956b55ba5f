"""What only the dev bridge does: serve the page, refuse what it cannot forward, and say why.

The gRPC-web behaviour it shares with Envoy (unary, streaming, errors mid-stream, cancellation,
metadata, CORS, deadlines) is tested against both edges in tests/deploy/test_grpc_web_edges.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import grpc
import httpx
import pytest

from devstack import grpcweb_bridge
from devstack.grpcweb_bridge import BridgeConfig, OriginPolicy
from devstack.processes import free_port
from photofun.v1 import conversation_service_pb2 as conversation_pb2

CONVERSATIONS = "photofun.v1.ConversationService"
GET_MESSAGE = f"/{CONVERSATIONS}/GetMessage"
GRPC_WEB = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}


def _status(response: httpx.Response) -> tuple[int, str]:
    """The status and message of a call refused before its first message: trailers-only, as
    Envoy answers it (the status in the HTTP headers, an empty body)."""
    assert response.content == b"", response.content
    return int(response.headers["grpc-status"]), unquote(response.headers.get("grpc-message", ""))


@pytest.fixture
def web_root(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>PhotoFun</title>")
    (root / "app.js").write_text("console.log('hi')")
    (tmp_path / "secret.txt").write_text("not for browsers")
    return root


@pytest.fixture
async def bridge(web_root: Path) -> AsyncIterator[str]:
    # Nothing listens upstream: calls that get past the bridge fail UNAVAILABLE.
    config = BridgeConfig(
        upstreams={CONVERSATIONS: f"127.0.0.1:{free_port()}"},
        origins=OriginPolicy(frozenset({"https://studio.example.com"}), loopback=False),
        web_root=web_root,
        page_config={"grpcWebUrl": "", "devToken": "tok"},
        max_request_bytes=1024,
    )
    runner, port = await grpcweb_bridge.start(config, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


def _framed(message: bytes, flags: int = 0) -> bytes:
    return grpcweb_bridge.frame(message, flags)


async def test_the_page_and_its_config_are_served(bridge: str, client: httpx.AsyncClient) -> None:
    page = await client.get(bridge + "/")
    assert page.status_code == 200
    assert "PhotoFun" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert (await client.get(bridge + "/app.js")).text == "console.log('hi')"
    config = await client.get(bridge + "/config.json")
    assert json.loads(config.text) == {"grpcWebUrl": "", "devToken": "tok"}
    assert config.headers["cache-control"] == "no-store"


async def _raw_get(base: str, path: str) -> bytes:
    """GET ``path`` exactly as written (httpx would normalise ``..`` away before sending)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    writer.write(request.encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "//etc/passwd", "/.env", "/x.js"],
)
async def test_nothing_outside_the_page_folder_is_served(bridge: str, path: str) -> None:
    answer = await _raw_get(bridge, path)
    assert answer.startswith(b"HTTP/1.1 404"), answer[:200]
    assert b"not for browsers" not in answer
    assert b"root:" not in answer


async def test_other_host_names_are_refused(bridge: str, client: httpx.AsyncClient) -> None:
    # A DNS-rebinding page: its own name, resolving to 127.0.0.1, with a matching Origin.
    rebound = {"host": "evil.example:8080", "origin": "http://evil.example:8080"}
    config = await client.get(bridge + "/config.json", headers=rebound)
    assert config.status_code == 421
    assert "tok" not in config.text
    call = await client.post(
        bridge + GET_MESSAGE, content=_framed(b""), headers={**GRPC_WEB, **rebound}
    )
    assert call.status_code == 421
    named = await client.get(bridge + "/config.json", headers={"host": "studio.example.com"})
    assert named.status_code == 200  # the host of an allow-listed origin is this bridge


async def test_an_origin_off_the_allow_list_is_refused(
    bridge: str, client: httpx.AsyncClient
) -> None:
    asked = {"access-control-request-method": "POST", "origin": "http://localhost:5173"}
    preflight = await client.options(bridge + GET_MESSAGE, headers=asked)
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    call = await client.post(
        bridge + GET_MESSAGE,
        content=_framed(b""),
        headers={**GRPC_WEB, "origin": "https://evil.example"},
    )
    assert call.status_code == 403
    allowed = await client.options(
        bridge + GET_MESSAGE, headers={**asked, "origin": "https://studio.example.com"}
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://studio.example.com"


@pytest.mark.parametrize(
    ("body", "headers", "code", "words"),
    [
        (_framed(b"x" * 2000), {}, grpc.StatusCode.RESOURCE_EXHAUSTED, "larger than 1024"),
        (b"\x00\x00", {}, grpc.StatusCode.INVALID_ARGUMENT, "not a gRPC-web frame"),
        (b"", {}, grpc.StatusCode.INVALID_ARGUMENT, "not a gRPC-web frame"),
        (_framed(b"a")[:-1], {}, grpc.StatusCode.INVALID_ARGUMENT, "exactly one message"),
        (
            _framed(b"a") + _framed(b"b"),
            {},
            grpc.StatusCode.INVALID_ARGUMENT,
            "exactly one message",
        ),
        (_framed(b"", flags=1), {}, grpc.StatusCode.UNIMPLEMENTED, "compressed"),
        (_framed(b""), {"grpc-timeout": "soon"}, grpc.StatusCode.INVALID_ARGUMENT, "timeout"),
        (_framed(b""), {"x-trace-bin": "!!"}, grpc.StatusCode.INVALID_ARGUMENT, "base64"),
        (_framed(b""), {"x-name": "caf\xe9"}, grpc.StatusCode.INVALID_ARGUMENT, "ASCII"),
        (
            b"%%%",
            {"content-type": "application/grpc-web-text"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "base64",
        ),
    ],
)
async def test_requests_it_cannot_forward_get_a_status_in_words(
    bridge: str,
    client: httpx.AsyncClient,
    body: bytes,
    headers: dict[str, str],
    code: grpc.StatusCode,
    words: str,
) -> None:
    sent = {k.encode(): v.encode("latin-1") for k, v in {**GRPC_WEB, **headers}.items()}
    response = await client.post(bridge + GET_MESSAGE, content=body, headers=sent)
    assert response.status_code == 200
    status, message = _status(response)
    assert status == code.value[0], message
    assert words in message


async def test_an_upstream_that_is_down_is_unavailable(
    bridge: str, client: httpx.AsyncClient
) -> None:
    request = conversation_pb2.GetMessageRequest(message_id="m1").SerializeToString()
    response = await client.post(bridge + GET_MESSAGE, content=_framed(request), headers=GRPC_WEB)
    status, _ = _status(response)
    assert status == grpc.StatusCode.UNAVAILABLE.value[0]
    assert response.headers["x-request-id"]  # generated when the caller sent none


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/grpc-web+json", "application/grpc-webx"]
)
async def test_other_content_types_are_not_grpc_web(
    bridge: str, client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        bridge + GET_MESSAGE, content=_framed(b""), headers={"content-type": content_type}
    )
    assert response.status_code == 415


def test_status_messages_are_percent_encoded() -> None:
    assert grpcweb_bridge.encode_grpc_message("50% café\n") == "50%25 caf%C3%A9%0A"
    assert grpcweb_bridge.encode_grpc_message("plain: words.") == "plain: words."


@pytest.mark.parametrize(
    ("header", "seconds"), [("30S", 30.0), ("1500m", 1.5), ("2M", 120.0), ("100u", 1e-4)]
)
def test_grpc_timeout_units(header: str, seconds: float) -> None:
    assert grpcweb_bridge.parse_timeout(header) == pytest.approx(seconds)


def test_routes_cover_every_method_of_the_routed_services() -> None:
    table = grpcweb_bridge.routes({CONVERSATIONS: "c:1", "photofun.v1.ImageService": "i:2"})
    assert table[f"/{CONVERSATIONS}/WatchMessage"].server_streaming
    assert not table[GET_MESSAGE].server_streaming
    assert table["/photofun.v1.ImageService/GenerateAngles"].upstream == "i:2"
    assert not any(path.startswith("/photofun.v1.PromptService/") for path in table)


def test_the_cli_refuses_a_service_that_is_not_public() -> None:
    with pytest.raises(SystemExit):
        grpcweb_bridge.main(["--upstream", "grpc.health.v1.Health=127.0.0.1:1"])
