"""The dev gRPC-web bridge: what Envoy does at the edge in production, for `make run`.

Browsers cannot speak gRPC (no HTTP/2 trailers from fetch), so they speak gRPC-web: each message
in a 5-byte-prefixed frame, the status in a final *trailer frame* in the body. This bridge
translates one POST into one upstream gRPC call on a ``grpc.aio`` channel, with the bytes passed
through untouched (no serializers), and serves the web page from the same origin.

It handles what a real edge must (and what sonora 0.2.3 gets wrong, see ``docs/decisions.md``):

- unary and server-streaming calls on the same routes as ``envoy/envoy.yaml`` (one upstream per
  public service; the method kind comes from the compiled descriptors);
- a trailer frame at the end of every response, so an error *after* the first message reaches
  the browser with its code, message and ``grpc-status-details-bin``;
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
import os
import re
import signal
import struct
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import grpc
import yarl
from aiohttp import web
from aiohttp.typedefs import Handler
from google.protobuf import descriptor_pool

from mesh.logs import configure_logging, get_logger
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
        raise BridgeError(grpc.StatusCode.INTERNAL, "request body is not a gRPC-web frame")
    flags, length = struct.unpack(">BI", body[:5])
    if flags & _COMPRESSED_FLAG:
        raise BridgeError(
            grpc.StatusCode.UNIMPLEMENTED, "compressed request frames are not supported"
        )
    if flags & _TRAILER_FLAG or len(body) != 5 + length:
        raise BridgeError(
            grpc.StatusCode.INTERNAL, "request body must hold exactly one message frame"
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
        name.strip().lower() for name in headers.get("Connection", "").split(",") if name.strip()
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


# --- the proxy -----------------------------------------------------------------------------

CONFIG_KEY = web.AppKey("bridge_config", BridgeConfig)
ROUTES_KEY = web.AppKey("bridge_routes", dict)
CHANNELS_KEY = web.AppKey("bridge_channels", dict)


class _Reply:
    """The HTTP response of one call: headers go out with the first frame, never twice."""

    def __init__(self, request: web.Request, text: bool) -> None:
        self.request = request
        self.text = text
        self.code: grpc.StatusCode | None = None  # set when the trailer frame is written
        content_type = "application/grpc-web-text+proto" if text else "application/grpc-web+proto"
        self.response = web.StreamResponse(
            status=200, headers={"Content-Type": content_type, **_cors_headers(request)}
        )

    async def start(self, metadata: Iterable[tuple[str, str | bytes]] = ()) -> None:
        if self.response.prepared:
            return
        for line in _metadata_lines(metadata):
            key, _, value = line.partition(": ")
            self.response.headers.add(key, value)
        await self.response.prepare(self.request)

    async def write(self, data: bytes) -> None:
        await self.start()
        await self.response.write(base64.b64encode(data) if self.text else data)

    async def finish(
        self,
        code: grpc.StatusCode,
        message: str,
        metadata: Iterable[tuple[str, str | bytes]] = (),
    ) -> web.StreamResponse:
        self.code = code
        await self.write(trailer_frame(code, message, metadata))
        await self.response.write_eof()
        return self.response


def _cors_headers(request: web.Request) -> dict[str, str]:
    origin = request.headers.get("Origin")
    if not origin or not request.app[CONFIG_KEY].origins.allows(origin):
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Vary": "Origin",
    }


async def _preflight(request: web.Request) -> web.Response:
    origin = request.headers.get("Origin", "")
    if not origin or "Access-Control-Request-Method" not in request.headers:
        return await _only_post(request)  # not a CORS preflight, as Envoy answers it
    if not request.app[CONFIG_KEY].origins.allows(origin):
        return web.Response(status=403, text=f"origin {origin!r} is not allowed\n")
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        },
    )


async def _only_post(request: web.Request) -> web.Response:
    """What a service path answers to anything but a gRPC-web POST or a preflight."""
    del request
    return web.Response(status=405, headers={"Allow": "POST, OPTIONS"}, text="only POST\n")


async def _call(request: web.Request) -> web.StreamResponse:
    content_type = request.headers.get("Content-Type", "")
    if not _GRPC_WEB_CONTENT_TYPE.match(content_type):
        return web.Response(status=415, text="expected application/grpc-web(-text)(+proto)\n")
    origin = request.headers.get("Origin")
    if origin and not request.app[CONFIG_KEY].origins.allows(origin) and not _same_origin(request):
        return web.Response(status=403, text=f"origin {origin!r} is not allowed\n")
    # Like Envoy: the request's body is decoded by its content type, the response is text
    # only when the client accepts it (grpc-web's JS client in text mode asks for it).
    text_request = content_type.startswith("application/grpc-web-text")
    reply = _Reply(request, text="application/grpc-web-text" in request.headers.get("Accept", ""))
    try:
        method = request.app[ROUTES_KEY].get(request.path)
        if method is None:
            raise BridgeError(grpc.StatusCode.UNIMPLEMENTED, f"unknown method {request.path}")
        body = await _read_body(request, text_request)
        timeout_header = request.headers.get("grpc-timeout")
        timeout = parse_timeout(timeout_header) if timeout_header else None
        metadata = request_metadata(request.headers, request.remote)
    except BridgeError as exc:
        log.info("grpc-web call refused", rpc=request.path, code=exc.code.name, why=exc.message)
        return await reply.finish(exc.code, exc.message)
    # Like Envoy: keep the caller's request id or make one, and always answer with it.
    request_id = request.headers.get("x-request-id", "").strip() or uuid.uuid4().hex
    if not any(key == "x-request-id" for key, _ in metadata):
        metadata.append(("x-request-id", request_id))
    reply.response.headers["x-request-id"] = request_id
    channel: grpc.aio.Channel = request.app[CHANNELS_KEY][method.upstream]
    # No serializers: the message bytes pass through untouched.
    call: grpc.aio.Call
    if method.server_streaming:
        stream: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(method.path)
        call = stream(body, timeout=timeout, metadata=metadata)
    else:
        unary: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method.path)
        call = unary(body, timeout=timeout, metadata=metadata)
    started = time.perf_counter()
    try:
        return await _relay(call, method, reply)
    except (ConnectionResetError, asyncio.CancelledError) as exc:
        reply.code = grpc.StatusCode.CANCELLED  # the browser went away mid-call
        if isinstance(exc, asyncio.CancelledError):
            raise
        return reply.response
    finally:
        # Runs on success, on error and when aiohttp cancels the handler because the browser
        # went away: the upstream call never outlives its caller.
        call.cancel()
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        code = reply.code.name if reply.code else "UNKNOWN"
        log.info(
            "grpc-web call",
            rpc=method.path,
            code=code,
            elapsed_ms=elapsed_ms,
            request_id=request_id,
        )


async def _relay(call: grpc.aio.Call, method: Method, reply: _Reply) -> web.StreamResponse:
    try:
        if method.server_streaming:
            assert isinstance(call, grpc.aio.UnaryStreamCall)
            # Like Envoy: the upstream's headers go out as soon as they come, so the browser
            # knows the stream is open even before the first message (a quiet WatchMessage).
            await reply.start(await call.initial_metadata() or ())
            messages: AsyncIterator[bytes] = call.__aiter__()
            async for message in messages:
                await reply.write(frame(message))
        else:
            assert isinstance(call, grpc.aio.UnaryUnaryCall)
            message = await call
            await reply.start(await call.initial_metadata() or ())
            await reply.write(frame(message))
    except grpc.aio.AioRpcError as exc:
        if not reply.response.prepared:
            await reply.start(exc.initial_metadata() or ())
        return await reply.finish(exc.code(), exc.details() or "", exc.trailing_metadata() or ())
    except (ConnectionResetError, asyncio.CancelledError):
        raise  # the browser went away; _call cancels the upstream call
    except Exception:  # a bug or a library surprise: still a status the browser can read
        log.exception("grpc-web bridge failed a call")
        return await reply.finish(grpc.StatusCode.INTERNAL, "the gRPC-web bridge failed the call")
    await reply.start(await call.initial_metadata() or ())
    code = await call.code()
    return await reply.finish(
        code, await call.details() or "", await call.trailing_metadata() or ()
    )


def _same_origin(request: web.Request) -> bool:
    return request.headers.get("Origin") == f"{request.scheme}://{request.host}"


async def _read_body(request: web.Request, text: bool) -> bytes:
    limit = request.app[CONFIG_KEY].max_request_bytes
    if text:
        limit = limit * 4 // 3 + 8
    if request.content_length is not None and request.content_length > limit:
        raise BridgeError(
            grpc.StatusCode.RESOURCE_EXHAUSTED, f"request is larger than {limit} bytes"
        )
    # Read to the end (a body may arrive in many pieces), never more than the limit.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
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
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' http: https: data: blob:; "
            f"style-src 'self'; script-src 'self'; connect-src {connect}; "
            "frame-ancestors 'none'"
        ),
    }


async def _page_config(request: web.Request) -> web.Response:
    body = json.dumps(dict(request.app[CONFIG_KEY].page_config))
    return web.Response(
        text=body, content_type="application/json", headers={"Cache-Control": "no-store"}
    )


async def _static(request: web.Request) -> web.StreamResponse:
    root = request.app[CONFIG_KEY].web_root
    if "path" in request.match_info:
        raise web.HTTPNotFound(text="not found\n")
    name = request.match_info.get("name") or "index.html"
    if root is None:
        raise web.HTTPNotFound(text="no web page is served here\n")
    if name.startswith("."):
        raise web.HTTPNotFound(text="not found\n")
    path = (root / name).resolve()
    if not path.is_file() or root.resolve() not in path.parents:
        raise web.HTTPNotFound(text="not found\n")
    return web.FileResponse(path, headers=_page_headers(request.app[CONFIG_KEY]))


# --- wiring --------------------------------------------------------------------------------


def create_app(config: BridgeConfig) -> web.Application:
    """The bridge as an aiohttp application (channels open on start-up, close on clean-up)."""
    # The body is read by _read_body with the bridge's own limit and status.
    app = web.Application(
        client_max_size=config.max_request_bytes * 2 + 64, middlewares=[_known_hosts_only]
    )
    app[CONFIG_KEY] = config
    app[ROUTES_KEY] = routes(config.upstreams)
    app[CHANNELS_KEY] = {}
    app.cleanup_ctx.append(_channels)
    for service in config.upstreams:
        app.router.add_post(f"/{service}/{{method}}", _call)
        app.router.add_route("OPTIONS", f"/{service}/{{method}}", _preflight)
        app.router.add_route("*", f"/{service}/{{method}}", _only_post)
    app.router.add_post("/{path:.*}", _call)  # any other service: UNIMPLEMENTED, as Envoy
    app.router.add_get("/config.json", _page_config)
    app.router.add_get("/", _static)
    app.router.add_get("/{name:[A-Za-z0-9_.-]+}", _static)
    app.router.add_get("/{path:.*}", _static)  # anything else (sub-folders, dot-dot): 404
    return app


@web.middleware
async def _known_hosts_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.app[CONFIG_KEY].allows_host(request.headers.get("Host", "")):
        return web.Response(status=421, text="this host name is not served here\n")
    return await handler(request)


async def _channels(app: web.Application) -> AsyncIterator[None]:
    options = [("grpc.max_receive_message_length", MAX_RESPONSE_MESSAGE_BYTES)]
    channels = app[CHANNELS_KEY]
    for upstream in set(app[CONFIG_KEY].upstreams.values()):
        channels[upstream] = grpc.aio.insecure_channel(upstream, options=options)
    yield
    for channel in channels.values():
        await channel.close(grace=None)


async def start(config: BridgeConfig, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Listen on ``host:port`` (0 picks one); returns the runner and the bound port.

    A browser that disconnects cancels its handler, and with it the upstream call.
    """
    runner = web.AppRunner(
        create_app(config), handler_cancellation=True, access_log=None, shutdown_timeout=1.0
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # aiohttp keeps the listening sockets here
    assert isinstance(server, asyncio.Server)
    bound: int = server.sockets[0].getsockname()[1]
    return runner, bound


async def serve(config: BridgeConfig, host: str, port: int) -> None:
    """Serve until cancelled."""
    runner, _ = await start(config, host, port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


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
