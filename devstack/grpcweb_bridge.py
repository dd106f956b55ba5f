"""The dev gRPC-web bridge: what Envoy does at the edge in production, for `make run`.

Browsers cannot speak gRPC (no HTTP/2 trailers from fetch), so they speak gRPC-web: each message
in a 5-byte-prefixed frame, the status in a final *trailer frame* in the body. This bridge
translates one POST into one upstream gRPC call on a ``grpc.aio`` channel, with the bytes passed
through untouched (no serializers), and serves the web page from the same origin.

It handles what a real edge must (and what sonora 0.2.3 gets wrong, see ``docs/decisions.md``):

- unary and server-streaming calls on the same routes as ``envoy/envoy.yaml`` (one upstream per
  public service; the method kind comes from the compiled descriptors);
- HTTP/1.1 and HTTP/2 without TLS (prior knowledge, or the h2c upgrade on a bodiless request)
  on one port, as Envoy's listener: the bridge is an ASGI application served by hypercorn;
- a trailer frame at the end of every response that carried a message, so an error *after*
  the first message reaches the browser with its code, message and ``grpc-status-details-bin``;
  an error before any message is *trailers-only* (the status in the HTTP headers, an empty
  body), and a path no route takes is HTTP 404 (UNIMPLEMENTED), as Envoy answers them;
- cancellation: when the browser goes away the upstream call is cancelled at once;
- CORS preflights answered only for allow-listed origins, with the gRPC headers exposed;
- request metadata forwarded (``authorization``, ``x-request-id``, ``*-bin`` base64-decoded),
  ``grpc-timeout`` turned into the upstream deadline, response metadata passed back;
- binary (``application/grpc-web+proto``) and text (``application/grpc-web-text``) encodings;
- a request size limit, answered with RESOURCE_EXHAUSTED.

Run alone: ``python -m devstack.grpcweb_bridge --port 8080 --web-root web/dist
--upstream photofun.v1.ConversationService=127.0.0.1:50053 ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import mimetypes
import os
import re
import signal
import socket
import struct
import time
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import grpc
import hypercorn.asyncio
import hypercorn.config
import yarl
from google.protobuf import descriptor_pool

from mesh.logs import configure_logging, get_logger
from mesh.pki import channel_credentials
from photofun.v1 import (  # noqa: F401  (importing registers the service descriptors)
    conversation_service_pb2,
    image_service_pb2,
    prompt_service_pb2,
)

MAX_REQUEST_BYTES = 4 * 1024 * 1024  # the gRPC default receive limit of the services
MAX_RESPONSE_MESSAGE_BYTES = 32 * 1024 * 1024  # as the services send
PUBLIC_SERVICES = (
    "photofun.v1.PromptService",
    "photofun.v1.ImageService",
    "photofun.v1.ConversationService",
)
QUIET_STREAM_OPENS_AFTER = 0.05  # seconds without a message before a stream's headers go out
_TRAILER_FLAG = 0x80
_COMPRESSED_FLAG = 0x01
_TIMEOUT = re.compile(r"^(\d{1,8})([HMSmun])$")
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
_METADATA_KEY = re.compile(r"^[0-9a-z_.-]+$")
# Request headers that belong to HTTP or the browser, not to the call.
_NOT_METADATA = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "connection",
        "content-length",
        "content-type",
        "cookie",
        "dnt",
        "host",
        "keep-alive",
        "origin",
        "pragma",
        "priority",
        "referer",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "forwarded",
        "proxy-authorization",
        "proxy-connection",
        "x-grpc-web",
        "x-user-agent",
    }
)
_NOT_METADATA_PREFIXES = ("grpc-", "sec-", ":", "proxy-", "x-envoy-")
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*$")
# What Envoy takes for a gRPC request when it answers one itself (application/grpc, +codec, ;
# parameters), and the gRPC status it gives each HTTP status then (any other: UNKNOWN).
_GRPC_CONTENT_TYPE = re.compile(r"^application/grpc([+;].*)?$")
_GRPC_CODE_OF_HTTP = {
    400: grpc.StatusCode.INTERNAL,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.UNIMPLEMENTED,
    429: grpc.StatusCode.UNAVAILABLE,
    502: grpc.StatusCode.UNAVAILABLE,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.UNAVAILABLE,
}
SERVICE_PACKAGE_PREFIX = "/photofun.v1."  # envoy/envoy.yaml's routes 3 and 4
_GRPC_WEB_CONTENT_TYPE = re.compile(r"^application/grpc-web(-text)?(\+proto)?\s*(;.*)?$")
ALLOWED_HEADERS = (
    "content-type, x-grpc-web, x-user-agent, grpc-timeout, authorization, x-request-id, "
    "keep-alive, user-agent, cache-control, connect-protocol-version, connect-timeout-ms, "
    "traceparent, tracestate"
)
EXPOSED_HEADERS = "grpc-status, grpc-message, grpc-status-details-bin, x-request-id"
log = get_logger(__name__)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_LOOPBACK_ORIGIN = re.compile(r"^https?://(localhost|127\.0\.0\.1)(:\d+)?$")


@dataclass(frozen=True)
class Method:
    """One routable RPC: where it goes and whether the server streams."""

    path: str
    upstream: str
    server_streaming: bool


@dataclass(frozen=True)
class OriginPolicy:
    """Which browser origins may call cross-origin (same-origin calls need no CORS)."""

    exact: frozenset[str] = frozenset()
    loopback: bool = True  # any port on localhost / 127.0.0.1, as envoy/envoy.yaml allows

    def allows(self, origin: str) -> bool:
        """True for an allow-listed origin."""
        return origin in self.exact or (self.loopback and bool(_LOOPBACK_ORIGIN.match(origin)))


@dataclass
class BridgeConfig:
    """Routes, origins and what the page is served with."""

    upstreams: Mapping[str, str]  # full service name -> host:port
    origins: OriginPolicy = field(default_factory=OriginPolicy)
    web_root: Path | None = None
    page_config: Mapping[str, str] = field(default_factory=dict)  # served as /config.json
    # Other origins the page may read from (its content policy's connect-src): the Media
    # Service, whose pictures Download saves.
    connect_origins: tuple[str, ...] = ()
    max_request_bytes: int = MAX_REQUEST_BYTES
    # Names the bridge answers to (the Host header): a DNS-rebinding page, whose name resolves
    # to 127.0.0.1, must not read the dev token in /config.json or call as dev-user.
    hosts: frozenset[str] = LOOPBACK_HOSTS
    # The mesh's certificates (mesh.pki) when the services take mTLS only: the bridge then
    # calls them as the `edge` identity. None: plaintext upstreams.
    tls_dir: Path | None = None

    def allows_host(self, host: str) -> bool:
        """True for a Host header naming this bridge (any port)."""
        name = yarl.URL(f"http://{host}").host if host else None
        exact_hosts = {yarl.URL(origin).host for origin in self.origins.exact}
        return name is not None and (name in self.hosts or name in exact_hosts)


class BridgeError(Exception):
    """A call the bridge refuses before it goes upstream."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def routes(upstreams: Mapping[str, str]) -> dict[str, Method]:
    """Every unary and server-streaming method of the routed services, by HTTP path."""
    pool = descriptor_pool.Default()
    table: dict[str, Method] = {}
    for service_name, upstream in upstreams.items():
        service = pool.FindServiceByName(service_name)
        for method in service.methods:
            if method.client_streaming:
                continue  # gRPC-web has no client streaming
            path = f"/{service.full_name}/{method.name}"
            table[path] = Method(path, upstream, method.server_streaming)
    return table


# --- gRPC-web framing ----------------------------------------------------------------------


def frame(payload: bytes, flags: int = 0) -> bytes:
    """One gRPC-web frame: flags, big-endian length, payload."""
    return struct.pack(">BI", flags, len(payload)) + payload


def parse_single_message(body: bytes) -> bytes:
    """The one request message of a unary or server-streaming call."""
    if len(body) < 5:
        raise BridgeError(grpc.StatusCode.INVALID_ARGUMENT, "request body is not a gRPC-web frame")
    flags, length = struct.unpack(">BI", body[:5])
    if flags & _COMPRESSED_FLAG:
        raise BridgeError(
            grpc.StatusCode.UNIMPLEMENTED, "compressed request frames are not supported"
        )
    if flags & _TRAILER_FLAG or len(body) != 5 + length:
        raise BridgeError(
            grpc.StatusCode.INVALID_ARGUMENT, "request body must hold exactly one message frame"
        )
    return body[5:]


def encode_grpc_message(message: str) -> str:
    """Percent-encode a status message as the gRPC spec asks (printable ASCII except '%')."""
    return quote(message, safe="".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%"))


def _metadata_lines(metadata: Iterable[tuple[str, str | bytes]]) -> list[str]:
    lines = []
    for key, value in metadata:
        text = base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
        lines.append(f"{key}: {text}")
    return lines


def trailer_frame(
    code: grpc.StatusCode, message: str, metadata: Iterable[tuple[str, str | bytes]] = ()
) -> bytes:
    """The final frame: status, message and trailing metadata as HTTP/1 header lines."""
    lines = [f"grpc-status: {code.value[0]}"]
    if message:
        lines.append(f"grpc-message: {encode_grpc_message(message)}")
    lines += _metadata_lines(
        (k, v) for k, v in metadata if k not in ("grpc-status", "grpc-message")
    )
    return frame(("\r\n".join(lines) + "\r\n").encode("utf-8"), _TRAILER_FLAG)


def parse_timeout(value: str) -> float:
    """``grpc-timeout`` (e.g. ``1500m``, ``30S``) in seconds."""
    match = _TIMEOUT.match(value.strip())
    if not match:
        raise BridgeError(grpc.StatusCode.INVALID_ARGUMENT, f"malformed grpc-timeout {value!r}")
    return int(match.group(1)) * _TIMEOUT_UNITS[match.group(2)]


def request_metadata(headers: Mapping[str, str], peer: str | None) -> list[tuple[str, str | bytes]]:
    """Request headers that are call metadata, ``*-bin`` values decoded, plus the peer."""
    hop_by_hop = {
        name.strip().lower() for name in headers.get("connection", "").split(",") if name.strip()
    }
    metadata: list[tuple[str, str | bytes]] = []
    forwarded_for = ""
    for raw_key, value in headers.items():
        key = raw_key.lower()
        if key == "x-forwarded-for":
            forwarded_for = value.strip()
            continue
        if (
            key in _NOT_METADATA
            or key in hop_by_hop
            or key.startswith(_NOT_METADATA_PREFIXES)
            or not _METADATA_KEY.match(key)  # not a valid gRPC metadata key: HTTP-only
        ):
            continue
        if key.endswith("-bin"):
            padded = value.strip() + "=" * (-len(value.strip()) % 4)
            try:
                metadata.append((key, base64.b64decode(padded, validate=True)))
            except ValueError as exc:
                raise BridgeError(
                    grpc.StatusCode.INVALID_ARGUMENT, f"header {key} is not base64"
                ) from exc
        elif not _PRINTABLE_ASCII.match(value):
            raise BridgeError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"header {key} must be printable ASCII (send binary values in a -bin header)",
            )
        elif value.strip() or key != "x-request-id":
            metadata.append((key, value))
    if peer:
        # Like Envoy with use_remote_address: append the peer to the caller's chain.
        chain = f"{forwarded_for}, {peer}" if forwarded_for else peer
        metadata.append(("x-forwarded-for", chain))
    return metadata


# --- HTTP on ASGI ----------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass
class Request:
    """One HTTP request as the ASGI server gave it (HTTP/1.1, h2c or h2c upgrade alike)."""

    scope: Scope
    receive: Receive
    send: Send
    config: BridgeConfig
    headers: dict[str, str] = field(init=False)  # lower-case names, repeated ones joined

    def __post_init__(self) -> None:
        headers: dict[str, str] = {}
        for raw_name, raw_value in self.scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def remote(self) -> str | None:
        client = self.scope.get("client")
        return str(client[0]) if client else None

    @property
    def origin(self) -> str:
        return self.headers.get("origin", "")

    def same_origin(self) -> bool:
        return self.origin == f"{self.scope.get('scheme', 'http')}://{self.headers.get('host', '')}"

    async def respond(
        self,
        status: int,
        body: bytes | str = b"",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        """A whole response at once.

        A refusal of a request with a gRPC content type goes out as Envoy sends its own
        answers to such requests, with a gRPC status (from the HTTP one) and the text as its
        message in the headers, and an empty body: gRPC-web keeps the HTTP status (Envoy's
        grpc_web filter), plain gRPC gets HTTP 200 (Envoy's local replies to gRPC)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        asked = self.headers.get("content-type", "")
        grpc_web = bool(_GRPC_WEB_CONTENT_TYPE.match(asked))
        already = any(key == "grpc-status" for key, _ in pairs)
        if status >= 400 and not already and (grpc_web or _GRPC_CONTENT_TYPE.match(asked)):
            code = _GRPC_CODE_OF_HTTP.get(status, grpc.StatusCode.UNKNOWN)
            pairs += [
                ("grpc-status", str(code.value[0])),
                ("grpc-message", encode_grpc_message(data.decode("utf-8", "replace"))),
                ("content-type", "application/grpc-web+proto" if grpc_web else "application/grpc"),
            ]
            data = b""
            status = status if grpc_web else 200
        if data:
            pairs.append(("content-type", content_type))
        pairs.append(("content-length", str(len(data))))
        await self.start(status, pairs)
        await self.send({"type": "http.response.body", "body": data, "more_body": False})

    async def start(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        """The status line and headers of a response whose body follows."""
        await self.send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )

    async def body_chunks(self) -> AsyncIterator[bytes]:
        """The request body as it arrives."""
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ConnectionResetError("the client went away while sending")
            if message.get("body"):
                yield bytes(message["body"])
            if not message.get("more_body", False):
                return

    async def disconnected(self) -> None:
        """Returns when the client goes away (call once the body has been read)."""
        while (await self.receive())["type"] != "http.disconnect":
            pass


# --- the proxy -----------------------------------------------------------------------------


class _Reply:
    """The HTTP response of one call: headers go out with the first frame, never twice.

    A call that fails before its first message is answered as Envoy answers it: *trailers-only*,
    the status in the HTTP headers and an empty body (gRPC-web clients read both forms)."""

    def __init__(self, request: Request, text: bool) -> None:
        self.request = request
        self.text = text
        self.code: grpc.StatusCode | None = None  # set when the status is sent
        self.prepared = False
        content_type = "application/grpc-web-text+proto" if text else "application/grpc-web+proto"
        self.headers: list[tuple[str, str]] = [
            ("content-type", content_type),
            *_cors_headers(request).items(),
        ]

    async def start(self, metadata: Iterable[tuple[str, str | bytes]] = ()) -> None:
        if self.prepared:
            return
        self.prepared = True
        for line in _metadata_lines(metadata):
            key, _, value = line.partition(": ")
            self.headers.append((key, value))
        await self.request.start(200, self.headers)

    async def write(self, data: bytes) -> None:
        await self.start()
        payload = base64.b64encode(data) if self.text else data
        await self.request.send({"type": "http.response.body", "body": payload, "more_body": True})

    async def finish(
        self,
        code: grpc.StatusCode,
        message: str,
        metadata: Iterable[tuple[str, str | bytes]] = (),
        http_status: int = 200,
    ) -> None:
        """The status: in a trailer frame after the messages, or trailers-only if none went."""
        self.code = code
        if self.prepared:
            await self.write(trailer_frame(code, message, metadata))
            await self.request.send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        self.prepared = True
        headers = [*self.headers, ("grpc-status", str(code.value[0]))]
        if message:
            headers.append(("grpc-message", encode_grpc_message(message)))
        for line in _metadata_lines(metadata):
            key, _, value = line.partition(": ")
            if key not in ("grpc-status", "grpc-message"):
                headers.append((key, value))
        await self.request.respond(http_status, b"", headers)


def _cors_headers(request: Request) -> dict[str, str]:
    origin = request.origin
    if not origin or not request.config.origins.allows(origin):
        return {}
    return {
        "access-control-allow-origin": origin,
        "access-control-expose-headers": EXPOSED_HEADERS,
        "vary": "Origin",
    }


async def _preflight(request: Request) -> None:
    origin = request.origin
    if not origin or "access-control-request-method" not in request.headers:
        await _only_post(request)  # not a CORS preflight, as Envoy answers it
        return
    if not request.config.origins.allows(origin):
        await request.respond(403, f"origin {origin!r} is not allowed\n")
        return
    await request.respond(
        204,
        headers={
            "access-control-allow-origin": origin,
            "access-control-allow-methods": "POST, OPTIONS",
            "access-control-allow-headers": ALLOWED_HEADERS,
            "access-control-max-age": "86400",
            "vary": "Origin",
        },
    )


async def _only_post(request: Request) -> None:
    """What a service path answers to anything but a gRPC-web POST or a preflight."""
    await request.respond(405, "only POST\n", {"allow": "POST, OPTIONS"})


async def _not_grpc_web(request: Request) -> None:
    """What a service path answers to a POST that is not gRPC-web (JSON, a form, plain gRPC:
    the bridge speaks only gRPC-web; plain gRPC goes to the service ports)."""
    await request.respond(415, "send gRPC-web (application/grpc-web+proto)\n")


async def _call(request: Request, routes_table: Mapping[str, Method], routed: bool) -> None:
    """A gRPC-web POST from an allowed (or no) origin: relay it upstream."""
    content_type = request.headers.get("content-type", "")
    # Like Envoy: the request's body is decoded by its content type, the response is text
    # only when the client accepts it (grpc-web's JS client in text mode asks for it).
    text_request = content_type.startswith("application/grpc-web-text")
    reply = _Reply(request, text="application/grpc-web-text" in request.headers.get("accept", ""))
    # Like Envoy: keep the caller's request id or make one, and always answer with it.
    request_id = request.headers.get("x-request-id", "").strip() or uuid.uuid4().hex
    reply.headers.append(("x-request-id", request_id))
    if not routed:  # like Envoy's last route: HTTP 404, which gRPC-web reads as UNIMPLEMENTED
        log.info("grpc-web call refused", rpc=request.path, code="UNIMPLEMENTED", why="unrouted")
        await reply.finish(grpc.StatusCode.UNIMPLEMENTED, "not found", http_status=404)
        return
    try:
        method = routes_table.get(request.path)
        if method is None:
            raise BridgeError(grpc.StatusCode.UNIMPLEMENTED, f"unknown method {request.path}")
        body = await _read_body(request, text_request)
        timeout_header = request.headers.get("grpc-timeout")
        timeout = parse_timeout(timeout_header) if timeout_header else None
        metadata = request_metadata(request.headers, request.remote)
    except BridgeError as exc:
        log.info("grpc-web call refused", rpc=request.path, code=exc.code.name, why=exc.message)
        await reply.finish(exc.code, exc.message)
        return
    if not any(key == "x-request-id" for key, _ in metadata):
        metadata.append(("x-request-id", request_id))
    await _forward(
        request,
        method,
        body=body,
        timeout=timeout,
        metadata=metadata,
        reply=reply,
        request_id=request_id,
    )


async def _forward(
    request: Request,
    method: Method,
    *,
    body: bytes,
    timeout: float | None,
    metadata: list[tuple[str, str | bytes]],
    reply: _Reply,
    request_id: str,
) -> None:
    """Make the upstream call and relay it, until it ends or the browser goes away."""
    channel: grpc.aio.Channel = request.scope["state"][CHANNELS_STATE][method.upstream]
    # No serializers: the message bytes pass through untouched.
    call: grpc.aio.Call
    if method.server_streaming:
        stream: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(method.path)
        call = stream(body, timeout=timeout, metadata=metadata)
    else:
        unary: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method.path)
        call = unary(body, timeout=timeout, metadata=metadata)
    started = time.perf_counter()
    relay = asyncio.ensure_future(_relay(call, method, reply))
    gone = asyncio.ensure_future(request.disconnected())
    try:
        await asyncio.wait({relay, gone}, return_when=asyncio.FIRST_COMPLETED)
        if not relay.done():
            reply.code = grpc.StatusCode.CANCELLED  # the browser went away mid-call
        else:
            relay.result()
    finally:
        # Runs on success, on error and when the browser went away (or the server stops):
        # the upstream call never outlives its caller.
        call.cancel()
        for task in (relay, gone):
            task.cancel()
        await asyncio.gather(relay, gone, return_exceptions=True)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        code = reply.code.name if reply.code else "CANCELLED"
        log.info(
            "grpc-web call",
            rpc=method.path,
            code=code,
            elapsed_ms=elapsed_ms,
            request_id=request_id,
        )


async def _relay(call: grpc.aio.Call, method: Method, reply: _Reply) -> None:
    try:
        if method.server_streaming:
            assert isinstance(call, grpc.aio.UnaryStreamCall)
            metadata = await call.initial_metadata()
            messages: AsyncIterator[bytes] = call.__aiter__()
            await _open_stream(reply, metadata or (), messages)
            async for message in messages:
                await reply.write(frame(message))
        else:
            assert isinstance(call, grpc.aio.UnaryUnaryCall)
            message = await call
            await reply.start(await call.initial_metadata() or ())
            await reply.write(frame(message))
    except grpc.aio.AioRpcError as exc:
        if not reply.prepared:  # trailers-only: headers and trailers go out together
            both = [*(exc.initial_metadata() or ()), *(exc.trailing_metadata() or ())]
            await reply.finish(exc.code(), exc.details() or "", both)
            return
        await reply.finish(exc.code(), exc.details() or "", exc.trailing_metadata() or ())
        return
    except (ConnectionResetError, asyncio.CancelledError):
        raise  # the browser went away; _call cancels the upstream call
    except Exception:  # a bug or a library surprise: still a status the browser can read
        log.exception("grpc-web bridge failed a call")
        await reply.finish(grpc.StatusCode.INTERNAL, "the gRPC-web bridge failed the call")
        return
    await reply.start(await call.initial_metadata() or ())
    code = await call.code()
    await reply.finish(code, await call.details() or "", await call.trailing_metadata() or ())


async def _open_stream(
    reply: _Reply, metadata: Iterable[tuple[str, str | bytes]], messages: AsyncIterator[bytes]
) -> None:
    """Relay a stream's first message, or open the stream if it is quiet.

    Like Envoy, the upstream's headers go out as soon as they come, so the browser knows the
    stream is open even before the first message (a quiet WatchMessage). grpc.aio does not say
    whether headers came or the call ended without any, so the headers wait until the first
    message, the call's end (an error before any message then goes out trailers-only, as Envoy
    relays an upstream's trailers-only answer) or ``QUIET_STREAM_OPENS_AFTER``, whichever comes
    first: a message is never held back."""
    first = asyncio.ensure_future(_next_message(messages))
    try:
        done, _ = await asyncio.wait({first}, timeout=QUIET_STREAM_OPENS_AFTER)
        if not done:
            await reply.start(metadata)
        message = await first  # raises the call's error, if it ended with one
    finally:
        first.cancel()
    if message is not None:
        await reply.start(metadata)
        await reply.write(frame(message))


async def _next_message(messages: AsyncIterator[bytes]) -> bytes | None:
    """The next message of a stream, None at its end."""
    try:
        return await anext(messages)
    except StopAsyncIteration:
        return None


async def _read_body(request: Request, text: bool) -> bytes:
    limit = request.config.max_request_bytes
    if text:
        limit = limit * 4 // 3 + 8
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BridgeError(
            grpc.StatusCode.RESOURCE_EXHAUSTED, f"request is larger than {limit} bytes"
        )
    # Read to the end (a body may arrive in many pieces), never more than the limit.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.body_chunks():
        size += len(chunk)
        if size > limit:
            raise BridgeError(
                grpc.StatusCode.RESOURCE_EXHAUSTED, f"request is larger than {limit} bytes"
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    if text:
        try:
            body = base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise BridgeError(
                grpc.StatusCode.INVALID_ARGUMENT, "grpc-web-text body is not base64"
            ) from exc
    return parse_single_message(body)


# --- the page ------------------------------------------------------------------------------


def _page_headers(config: BridgeConfig) -> dict[str, str]:
    # The page may call gRPC-web on another origin (config.json's grpcWebUrl, e.g. Envoy).
    edge = config.page_config.get("grpcWebUrl", "")
    others = [edge, *config.connect_origins]
    connect = " ".join(["'self'", *(str(yarl.URL(url).origin()) for url in others if url)])
    return {
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "content-security-policy": (
            "default-src 'self'; img-src 'self' http: https: data: blob:; "
            f"style-src 'self'; script-src 'self'; connect-src {connect}; "
            "frame-ancestors 'none'"
        ),
    }


_PAGE_FILE = re.compile(r"^/([A-Za-z0-9_-][A-Za-z0-9_.-]*)?$")  # one name, not hidden


async def _page(request: Request) -> None:
    """``/config.json`` and the files of the built page; anything else is 404."""
    config = request.config
    if request.method not in ("GET", "HEAD"):
        await request.respond(404, "not found\n")  # as Envoy's last route answers it
        return
    if request.path == "/config.json":
        body = json.dumps(dict(config.page_config))
        await request.respond(
            200, body, {"cache-control": "no-store"}, content_type="application/json"
        )
        return
    match = _PAGE_FILE.match(request.path)
    root = config.web_root
    if match is None or root is None:
        await request.respond(404, "not found\n")
        return
    path = (root / (match.group(1) or "index.html")).resolve()
    if not path.is_file() or root.resolve() not in path.parents:
        await request.respond(404, "not found\n")
        return
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type.endswith("javascript"):
        content_type += "; charset=utf-8"
    data = await asyncio.to_thread(path.read_bytes)
    await request.respond(200, data, _page_headers(config), content_type=content_type)


# --- wiring --------------------------------------------------------------------------------

CHANNELS_STATE = "bridge_channels"


class Bridge:
    """The bridge as an ASGI application: channels open at start-up and close at shut-down
    (the lifespan protocol), every request is routed as ``envoy/envoy.yaml`` routes it."""

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self.routes = routes(config.upstreams)
        self.prefixes = tuple(f"/{service}/" for service in config.upstreams)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive, send, self.config)
        if not self.config.allows_host(request.headers.get("host", "")):
            await request.respond(421, "this host name is not served here\n")
            return
        # The order of envoy/envoy.yaml's routes, so both edges answer alike:
        # 1. a page on an origin that is not allowed: 403, whatever it asks (a same-origin
        #    request is the bridge's own page, which Envoy does not serve);
        origin = request.origin
        if origin and not self.config.origins.allows(origin) and not request.same_origin():
            await request.respond(403, f"origin {origin!r} is not allowed\n")
            return
        routed = request.path.startswith(self.prefixes)
        # 2. a gRPC-web POST: a call (404 / UNIMPLEMENTED when no service takes its path);
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and _GRPC_WEB_CONTENT_TYPE.match(content_type):
            await _call(request, self.routes, routed)
            return
        # 3.-4. anything else under the services' package: a preflight, 415 or 405;
        if request.path.startswith(SERVICE_PACKAGE_PREFIX):
            if request.method == "OPTIONS":
                await _preflight(request)
            elif request.method == "POST":
                await _not_grpc_web(request)
            else:
                await _only_post(request)
            return
        # 5. the page and config.json (GET, HEAD); anything else is 404, as Envoy's last route.
        await _page(request)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        options = [("grpc.max_receive_message_length", MAX_RESPONSE_MESSAGE_BYTES)]
        channels: dict[str, grpc.aio.Channel] = {}
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                tls_dir = self.config.tls_dir
                for upstream in set(self.config.upstreams.values()):
                    channels[upstream] = (
                        grpc.aio.secure_channel(
                            upstream, channel_credentials(tls_dir, "edge"), options=options
                        )
                        if tls_dir is not None
                        else grpc.aio.insecure_channel(upstream, options=options)
                    )
                scope["state"][CHANNELS_STATE] = channels
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for channel in channels.values():
                    await channel.close(grace=None)
                await send({"type": "lifespan.shutdown.complete"})
                return


@dataclass
class Running:
    """A bridge serving in this event loop; ``cleanup()`` stops it."""

    task: asyncio.Task[None]
    stop: asyncio.Event

    async def cleanup(self) -> None:
        """Stop listening, end the open calls, close the upstream channels."""
        self.stop.set()
        await self.task


def _server_config(sock: socket.socket) -> hypercorn.config.Config:
    server = hypercorn.config.Config()
    server.bind = [f"fd://{sock.detach()}"]  # hypercorn owns the listening socket from here
    server.accesslog = None
    server.graceful_timeout = 1.0
    server.include_server_header = False
    server.keep_alive_timeout = 75.0
    return server


async def start(config: BridgeConfig, host: str, port: int) -> tuple[Running, int]:
    """Listen on ``host:port`` (0 picks one); returns the running bridge and the bound port.

    HTTP/1.1, HTTP/2 without TLS (prior knowledge, as buf curl and connect-node send it) and
    the h2c upgrade are all served on the one port, by hypercorn. A browser that disconnects
    cancels its upstream call.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    bound: int = sock.getsockname()[1]
    stop = asyncio.Event()
    app = Bridge(config)
    started = asyncio.Event()

    async def lifespan_aware(scope: Scope, receive: Receive, send: Send) -> None:
        async def sent(message: MutableMapping[str, Any]) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                started.set()

        await app(scope, receive, sent if scope["type"] == "lifespan" else send)

    task = asyncio.ensure_future(
        hypercorn.asyncio.serve(
            cast(Any, lifespan_aware), _server_config(sock), shutdown_trigger=stop.wait, mode="asgi"
        )
    )
    waiting = asyncio.ensure_future(started.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiting.cancel()
        task.result()  # raises what stopped it from starting
    return Running(task, stop), bound


async def serve(config: BridgeConfig, host: str, port: int) -> None:
    """Serve until cancelled."""
    running, _ = await start(config, host, port)
    try:
        await asyncio.Event().wait()
    finally:
        await running.cleanup()


def _upstream(value: str) -> tuple[str, str]:
    service, sep, target = value.partition("=")
    if not sep or service not in PUBLIC_SERVICES or not target:
        raise argparse.ArgumentTypeError(
            f"expected SERVICE=HOST:PORT with SERVICE one of {', '.join(PUBLIC_SERVICES)}"
        )
    return service, target


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the bridge (and the page) until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(description="gRPC-web to gRPC bridge for local runs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--upstream", type=_upstream, action="append", required=True)
    parser.add_argument("--allow-origin", action="append", default=[], help="exact origin")
    parser.add_argument("--no-loopback-origins", action="store_true")
    parser.add_argument(
        "--allow-host", action="append", default=[], help="another name this bridge answers to"
    )
    parser.add_argument("--web-root", type=Path, default=None, help="folder with the built page")
    parser.add_argument(
        "--connect-origin",
        action="append",
        default=[],
        help="another origin the page may read from, e.g. the Media Service (repeatable)",
    )
    parser.add_argument(
        "--grpc-web-url",
        default="",
        help="where the page sends its gRPC-web calls (config.json's grpcWebUrl), e.g. a local "
        "Envoy; empty: this bridge",
    )
    parser.add_argument(
        "--tls-dir",
        type=Path,
        default=None,
        help="the mesh's certificates (python -m mesh.pki init): call the services with mTLS",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    page_config = {"grpcWebUrl": args.grpc_web_url}
    if token := os.environ.get("PHOTOFUN_DEV_TOKEN"):
        page_config["devToken"] = token  # local runs only: the page signs in as dev-user
    config = BridgeConfig(
        upstreams=dict(args.upstream),
        origins=OriginPolicy(frozenset(args.allow_origin), not args.no_loopback_origins),
        web_root=args.web_root,
        page_config=page_config,
        connect_origins=tuple(args.connect_origin),
        hosts=LOOPBACK_HOSTS | set(args.allow_host) | {args.host},
        tls_dir=args.tls_dir,
    )

    async def run() -> None:
        task = asyncio.ensure_future(serve(config, args.host, args.port))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
