"""The one place where domain errors become gRPC statuses, and where each call gets its id.

Every handler (unary, server-, client- and bidirectional streaming; only reflection is served
unwrapped, see ``mesh.access``) is wrapped so that:
- the gate (``mesh.access.Gate``) decides who the caller is before the handler runs: no valid
  credentials, no handler; then a rate-limited method takes a token of the user's bucket
  (``mesh.ratelimit``; calls a mesh service makes for a user are not counted again);
- the call's request id (``x-request-id`` metadata, or a new one) is bound to every log line and
  returned in the trailing metadata;
- each call leaves one INFO line (``rpc finished``), except calls the gate refuses: those are
  reported by the gate's ``RefusalLog`` (one warning per peer and reason a minute) and
  otherwise logged at DEBUG, so a flood of bad callers cannot flood the log;
- ``ServiceError`` becomes its status code with a ``google.rpc.Status`` carrying
  ``google.rpc.ErrorInfo`` (the machine-readable reason) and, for a bad field,
  ``google.rpc.BadRequest``;
- ``NotImplementedError`` (the generated base servicers raise it) becomes UNIMPLEMENTED;
- a request whose bytes are not a valid message of the method's request type becomes
  INVALID_ARGUMENT (field ``request``), before the handler runs (gRPC itself would answer
  UNKNOWN with the parser's class name);
- an exception a service's translator recognises (e.g. its database being unreachable)
  becomes the ``ServiceError`` it returns (UNAVAILABLE ...);
- anything else becomes INTERNAL with a generic message; the traceback is logged, not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2, descriptor_pool
from google.rpc import error_details_pb2, status_pb2

from mesh.access import Caller, Gate, admitted
from mesh.errors import ERROR_DOMAIN, InvalidArgument, ServiceError, StartupError
from mesh.logs import bind_context, get_logger
from mesh.metrics import RPC_SECONDS
from mesh.ratelimit import RateLimiter
from mesh.tracing import fail_span

REQUEST_ID_KEY = "x-request-id"
_MAX_REQUEST_ID = 128
_QUIET_PREFIXES = ("/grpc.health.", "/grpc.reflection.")
_OWN_HANDLING = ("/grpc.reflection.",)  # served as grpcio-reflection serves it, unwrapped

log = get_logger(__name__)
# Turns an exception of a service's own dependencies into the error callers should see;
# None when it does not know the exception.
Translator = Callable[[BaseException], ServiceError | None]


class _Undecodable:
    """What the wrapped deserializer returns for bytes that are not a valid request."""

    def __init__(self, why: str) -> None:
        self.why = why


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:  # DecodeError, or invalid UTF-8 in a string field
            return _Undecodable(type(exc).__name__)

    return deserialize


def _refuse_undecodable(request: Any) -> None:
    if isinstance(request, _Undecodable):
        raise InvalidArgument(
            "request", "is not a valid protobuf message of this method's request type"
        )


class _Status(grpc.Status):
    """A concrete ``grpc.Status`` (the grpc package only ships the abstract class)."""

    def __init__(
        self, code: grpc.StatusCode, details: str, trailing_metadata: tuple[tuple[str, Any], ...]
    ) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


def request_id_of(metadata: Any) -> str:
    """The caller's request id from metadata, or a fresh one; bounded so logs stay sane."""
    for key, value in metadata or ():
        if key == REQUEST_ID_KEY and isinstance(value, str) and value.strip():
            return value.strip()[:_MAX_REQUEST_ID]
    return uuid.uuid4().hex


def status_for(
    exc: BaseException, request_id: str, translators: Sequence[Translator] = ()
) -> _Status:
    """Map an exception to the status the client sees."""
    if not isinstance(exc, ServiceError):
        exc = next((e for e in (t(exc) for t in translators) if e is not None), exc)
    if isinstance(exc, ServiceError):
        code, message, reason = exc.code, exc.message, exc.reason
        metadata = {**exc.metadata, "request_id": request_id}
    elif isinstance(exc, NotImplementedError):
        code, message, reason = (
            grpc.StatusCode.UNIMPLEMENTED,
            "not implemented yet",
            "UNIMPLEMENTED",
        )
        metadata = {"request_id": request_id}
    else:
        code = grpc.StatusCode.INTERNAL
        message = f"internal error; quote request id {request_id} when reporting it"
        reason, metadata = "INTERNAL", {"request_id": request_id}
    details: list[any_pb2.Any] = []
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata))
    details.append(info)
    if isinstance(exc, InvalidArgument):
        bad = any_pb2.Any()
        bad.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=exc.field, description=exc.description, reason=reason
                    )
                ]
            )
        )
        details.append(bad)
    if isinstance(exc, ServiceError) and exc.retry_after is not None:
        retry = any_pb2.Any()
        wait = error_details_pb2.RetryInfo()
        wait.retry_delay.FromNanoseconds(int(max(0.0, exc.retry_after) * 1e9))
        retry.Pack(wait)
        details.append(retry)
    rpc_status = status_pb2.Status(code=code.value[0], message=message, details=details)
    return _Status(
        code=code,
        details=message,
        trailing_metadata=(
            ("grpc-status-details-bin", rpc_status.SerializeToString()),
            (REQUEST_ID_KEY, request_id),
        ),
    )


@dataclass(frozen=True)
class Admission:
    """What a method's caller must pass: the gate, then (if limited) a token of a bucket."""

    gate: Gate
    limiter: RateLimiter | None = None
    bucket: str = ""

    async def identify(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Caller | None:
        """The gate's verdict, recorded for the handler; its refusals raise ``ServiceError``."""
        caller = await self.gate.admit(method, context)
        admitted(caller)
        return caller

    async def take(self, caller: Caller | None) -> None:
        """A token of the caller's bucket, if the method is limited (not for mesh services)."""
        if self.limiter is not None and caller is not None and caller.service is None:
            await self.limiter.take(self.bucket, caller.user)


def check_limited(limited: Mapping[str, str], buckets: frozenset[str] | None) -> None:
    """Refuse to start when a rate-limited method does not exist (``"/pkg.Service/Method"`` in
    the protobuf descriptors) or names a bucket the limiter lacks (``buckets``; None: no
    limiter, nothing to check): a misspelt name would otherwise leave that method unlimited."""
    pool = descriptor_pool.Default()
    for path, bucket in limited.items():
        service, _, name = path.lstrip("/").partition("/")
        try:
            known = pool.FindServiceByName(service).methods_by_name
        except KeyError:
            known = {}
        if name not in known:
            raise StartupError(f"rate limit on {path}: no such method")
        if buckets is not None and bucket not in buckets:
            raise StartupError(
                f"rate limit on {path}: no bucket {bucket!r} (known: {', '.join(sorted(buckets))})"
            )


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Binds the request id, logs each call once, and maps errors (see module docstring)."""

    def __init__(
        self,
        translators: Sequence[Translator] = (),
        gate: Gate | None = None,
        limiter: RateLimiter | None = None,
        limited: Mapping[str, str] | None = None,
    ) -> None:
        self._translators = tuple(translators)
        self._gate = gate
        self._limiter = limiter
        self._limited = dict(limited or {})
        check_limited(self._limited, limiter.buckets if limiter is not None else None)

    def _admission(self, method: str) -> Admission | None:
        if self._gate is None:
            return None
        bucket = self._limited.get(method) if self._limiter is not None else None
        return Admission(self._gate, self._limiter if bucket else None, bucket or "")

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(_OWN_HANDLING):
            return handler  # reflection: a setting, open while on (mesh.access)
        # Every shape, client-streaming ones too: none is public today, but a new one must
        # not skip the gate.
        for shape, make, wrap in _SHAPES:
            behavior = getattr(handler, shape)
            if behavior is not None:
                return make(
                    wrap(method, behavior, self._translators, self._admission(method)),
                    request_deserializer=_tolerant(handler.request_deserializer),
                    response_serializer=handler.response_serializer,
                )
        return handler


def _begin(method: str, context: grpc.aio.ServicerContext[Any, Any]) -> str:
    request_id = request_id_of(context.invocation_metadata())
    bind_context(request_id=request_id, rpc=method)
    return request_id


def _finish(
    method: str, started: float, code: grpc.StatusCode, request_id: str, *, quiet: bool = False
) -> None:
    elapsed = time.perf_counter() - started
    service, _, name = method.lstrip("/").rpartition("/")
    RPC_SECONDS.labels(service, name, code.name).observe(elapsed)
    if code is not grpc.StatusCode.OK:
        fail_span(code.name, "the call ended with this status")
    elapsed_ms = round(elapsed * 1000, 2)
    level = "debug" if quiet or method.startswith(_QUIET_PREFIXES) else "info"
    getattr(log, level)("rpc finished", code=code.name, elapsed_ms=elapsed_ms)


def _report(
    exc: Exception, request_id: str, translators: Sequence[Translator], *, quiet: bool = False
) -> _Status:
    """The status for what escaped a handler, logged once at the level it deserves (DEBUG for
    ``quiet`` ones: the gate's refusals, which ``RefusalLog`` already reported)."""
    status = status_for(exc, request_id, translators)
    if isinstance(exc, ServiceError):
        level = "debug" if quiet else "info"
        getattr(log, level)(
            "rpc rejected", code=status.code.name, reason=exc.reason, message=exc.message
        )
    elif isinstance(exc, NotImplementedError):
        pass
    elif status.code != grpc.StatusCode.INTERNAL:  # translated: a dependency is down
        log.warning("rpc failed", code=status.code.name, error=type(exc).__name__)
    else:
        log.exception("unhandled error in handler")
    return status


@contextlib.asynccontextmanager
async def _handling(
    method: str,
    context: grpc.aio.ServicerContext[Any, Any],
    translators: Sequence[Translator],
    admission: Admission | None = None,
) -> AsyncIterator[str]:
    """Around one call: bind its id, admit its caller, map what escapes, log it once.

    A caller the gate refuses leaves no INFO line: however many such calls arrive, the gate's
    ``RefusalLog`` writes one warning per peer and reason a minute, and the rest is DEBUG."""
    request_id = _begin(method, context)
    started, code, finished, refused = time.perf_counter(), grpc.StatusCode.OK, False, False
    try:
        if admission is not None:
            try:
                caller = await admission.identify(method, context)
            except ServiceError:
                refused = True
                raise
            await admission.take(caller)
        yield request_id
        # Add to what the handler set, never replace it.
        own = tuple(context.trailing_metadata() or ())
        context.set_trailing_metadata((*own, (REQUEST_ID_KEY, request_id)))
    except grpc.aio.AbortError:
        code = context.code() or grpc.StatusCode.UNKNOWN
        raise
    except asyncio.CancelledError:
        code = grpc.StatusCode.CANCELLED  # the client went away or the server is stopping
        raise
    except Exception as exc:
        # Counted before the status leaves: a client that reads the metrics right after its
        # error must find the call there.
        status = _report(exc, request_id, translators, quiet=refused)
        _finish(method, started, status.code, request_id, quiet=refused)
        finished = True
        await context.abort_with_status(status)
    finally:
        if not finished:
            _finish(method, started, code, request_id)


def _decoded(request: Any) -> Any:
    """A single request, INVALID_ARGUMENT when it did not decode."""
    _refuse_undecodable(request)
    return request


async def _decoded_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """A client stream's requests, INVALID_ARGUMENT at the first one that did not decode."""
    async for request in requests:
        _refuse_undecodable(request)
        yield request


def _wrap_one_response(
    incoming: Callable[[Any], Any],
) -> Callable[..., Callable[..., Any]]:
    """A wrapper for calls answered with one message (unary and client-streaming), the requests
    checked by ``incoming``."""

    def wrap(
        method: str,
        behavior: Callable[..., Any],
        translators: Sequence[Translator] = (),
        admission: Admission | None = None,
    ) -> Callable[..., Any]:
        async def handler(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with _handling(method, context, translators, admission):
                result = behavior(incoming(request), context)
                return await result if inspect.isawaitable(result) else result

        return handler

    return wrap


def _wrap_responses(
    incoming: Callable[[Any], Any],
) -> Callable[..., Callable[..., AsyncIterator[Any]]]:
    """A wrapper for calls answered with a stream (server- and bidirectional-streaming)."""

    def wrap(
        method: str,
        behavior: Callable[..., Any],
        translators: Sequence[Translator] = (),
        admission: Admission | None = None,
    ) -> Callable[..., AsyncIterator[Any]]:
        async def handler(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            async with _handling(method, context, translators, admission):
                stream = behavior(incoming(request), context)
                if inspect.isawaitable(stream):
                    await stream  # a handler that writes with context.write() (health's Watch)
                else:
                    async for item in stream:
                        yield item

        return handler

    return wrap


# Each call shape: the handler's attribute, how to make such a handler, how to wrap its behaviour.
_SHAPES: tuple[
    tuple[str, Callable[..., grpc.RpcMethodHandler[Any, Any]], Callable[..., Any]], ...
] = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler, _wrap_one_response(_decoded)),
    ("unary_stream", grpc.unary_stream_rpc_method_handler, _wrap_responses(_decoded)),
    ("stream_unary", grpc.stream_unary_rpc_method_handler, _wrap_one_response(_decoded_stream)),
    ("stream_stream", grpc.stream_stream_rpc_method_handler, _wrap_responses(_decoded_stream)),
)
